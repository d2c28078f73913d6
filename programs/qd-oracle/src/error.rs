//! qd-oracle's own errors (6100..); runtime errors are 6000.., reader errors 6050...

qd_runtime::errors! {
    pub enum OracleProgramError {
        /// The signer is not one of the feed's publishers.
        NotPublisher = 6100,
        /// publish_time must be later than this publisher's latest publish time.
        NonIncreasingPublishTime = 6101,
        /// publish_time is more than 2 s ahead of the cluster clock.
        PublishTimeInFuture = 6102,
        /// Price must be positive.
        InvalidPublishedPrice = 6103,
        /// A feed has at most 8 publishers.
        TooManyPublishers = 6104,
        /// A publisher is listed twice.
        DuplicatePublisher = 6105,
        /// The signer is not the feed's authority.
        NotAuthority = 6106,
        /// Symbol must be 1 to 16 printable ASCII characters, zero padded.
        InvalidSymbol = 6107,
        /// Exponent must be between -12 and 0.
        InvalidExponent = 6108,
        /// Status must be 0 (halted) or 1 (trading).
        InvalidFeedStatus = 6109,
        /// The EMA window must be between 1 second and 1 day.
        InvalidEmaWindow = 6110,
        /// Reading a foreign oracle needs a guard configuration.
        MissingGuard = 6111,
        /// Unknown action (0 trade, 1 margin, 2 liquidation, 3 settlement).
        InvalidAction = 6112,
        /// A feed needs at least one publisher.
        NoPublishers = 6113,
        /// Confidence must be smaller than the price.
        InvalidConfidence = 6114,
        /// The quorum (min_publishers) must be between 1 and the number of publishers.
        InvalidQuorum = 6115,
        /// The maximum publisher age must be between 1 second and 1 hour.
        InvalidPublisherAge = 6116,
    }
}
