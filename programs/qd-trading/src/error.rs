//! qd-trading's own errors (6100..); runtime 6000.., oracle reader 6050.., access 6200..,
//! health engine 6250.., health-account reads 6300.. (WrongOracle, MarketMismatch,
//! WrongTradingAccount are there, shared with every reader of these accounts).

use qd_runtime::error::{ProgramError, RuntimeError};

qd_runtime::errors! {
    pub enum TradingError {
        /// Market parameters are out of range
        InvalidMarketParams = 6101,
        /// tick_size * lot_size must be a multiple of 1e9
        InvalidTickLot = 6102,
        /// Fees must satisfy taker <= 1000 bps and -taker <= maker <= 1000 bps
        InvalidFees = 6103,
        /// Tick and lot sizes cannot change after creation
        TickLotImmutable = 6104,
        /// Unknown market status or transition not allowed
        InvalidMarketStatus = 6105,
        /// The market is in settlement: its status and parameters are final
        MarketSettled = 6106,
        /// Market account is not the market of this order or position
        WrongMarket = 6107,
        /// The market is in settlement: no new orders or fills
        MarketNotActive = 6108,
        /// The market is reduce-only
        MarketReduceOnly = 6109,
        /// The margin account is reduce-only
        AccountReduceOnly = 6110,
        /// Order size is zero, below the market's minimum or not a multiple of its lot size
        InvalidOrderSize = 6111,
        /// Price is not positive or not a multiple of the market's tick size
        InvalidPrice = 6112,
        /// Invalid combination of order side, kind, time in force, post-only and auction
        InvalidOrderType = 6113,
        /// A GTT order needs an expiry in the future; other orders take none
        InvalidOrderExpiry = 6114,
        /// Auction prices must be tick multiples within the market's deviation from the oracle, moving toward the limit price
        AuctionOutOfBounds = 6115,
        /// Auction duration is outside the market's bounds
        AuctionDurationOutOfRange = 6116,
        /// A post-only order would cross the oracle price
        PostOnlyCrosses = 6117,
        /// A reduce-only order would increase the position
        ReduceOnlyIncreases = 6118,
        /// A trading account holds at most 32 orders
        TooManyOrders = 6119,
        /// A trading account holds positions in at most 8 markets
        TooManyPositions = 6120,
        /// Position notional would exceed the account's leverage limit
        LeverageExceeded = 6122,
        /// No such order in this trading account
        OrderNotFound = 6123,
        /// The order's auction is still running
        OrderInAuction = 6124,
        /// The taker order's auction is over
        AuctionOver = 6125,
        /// The taker order's auction is still running: only place-and-make fills it
        AuctionInProgress = 6126,
        /// A post-only order cannot take
        PostOnlyTakes = 6127,
        /// The maker's price does not reach the fill price
        MakerPriceNotMet = 6128,
        /// A fill-or-kill order must fill completely
        FillOrKill = 6129,
        /// Taker and maker are the same account or owner
        SelfTrade = 6130,
        /// The fill would exceed the market's open interest cap
        OpenInterestCapExceeded = 6131,
        /// The taker's initial health after the fill would be below zero
        TakerInsufficientHealth = 6132,
        /// The maker's initial health after the fill would be below zero
        MakerInsufficientHealth = 6133,
        /// The funding period has not elapsed
        FundingTooEarly = 6134,
        /// The trading account still has positions or orders
        TradingAccountNotEmpty = 6135,
        /// No order of this account has expired
        NothingToExpire = 6136,
        /// Collateral config is not the quote mint's
        WrongQuoteConfig = 6137,
        /// fill_order takes 1 to 4 maker orders
        TooManyMakers = 6138,
        /// Collateral program account is not qd-collateral
        WrongCollateralProgram = 6139,
        /// Market index must be below 64
        InvalidMarketIndex = 6140,
        /// The order has expired
        OrderExpired = 6141,
        /// modify_order needs a new price or size
        NothingToModify = 6142,
        /// The trading account has no position in this market
        NoPosition = 6143,
        /// The rate-limit bucket must refill before the trading account closes
        RateLimitRefilling = 6144,
        /// A delegate's or session key's fill is priced outside the market's delegated band
        DelegatedPriceOutOfBand = 6145,
        /// A delegate or session key may not trade its principal against an account it owns or is delegate of
        AgentSelfDealing = 6146,
        /// The order was placed by a session key: pass its Session account
        SessionRequired = 6147,
        /// The security program account is not qd-security
        WrongSecurityProgram = 6148,
        /// The margin account is being liquidated: its orders and fills may only reduce its positions
        AccountBeingLiquidated = 6149,
        /// A liquidation step must reduce the position (never past zero) with non-negative fees, repay a flat position's
        /// debt, or resolve a bankrupt flat position's debt
        InvalidLiquidation = 6151,
        /// Fees taken exceed the market's fee or liquidation-fee pool, or together its PnL pool
        TakeExceedsPool = 6160,
        /// The order waits for its trigger or is a TWAP parent: it is not on the book
        OrderNotOnBook = 6162,
        /// The order is not waiting for a trigger
        NotTriggerOrder = 6163,
        /// The oracle price has not reached the order's trigger price
        TriggerNotDue = 6164,
        /// The trigger condition holds now: place the order itself
        TriggerWouldFire = 6165,
        /// A trigger price is a positive tick multiple with condition 1 (at or above) or 2 (at or below)
        InvalidTrigger = 6166,
        /// The bracket's entry has filled nothing: its exits have nothing to close
        EntryNotFilled = 6167,
        /// A bracket needs an exit; a take-profit fires beyond the oracle on the profit side, a stop-loss on the loss side
        InvalidBracket = 6168,
        /// The order is not a TWAP
        NotTwap = 6169,
        /// The TWAP's next slice is not due yet
        SliceNotDue = 6170,
        /// A TWAP's interval is 30 s to 1 h, its duration 5 min to 24 h and a multiple of it, its tolerance 1 bps to the
        /// market's auction deviation
        InvalidTwap = 6171,
        /// A TWAP slice would be below the market's minimum order size
        TwapSliceTooSmall = 6172,
        /// An iceberg's clip is a lot multiple of at least the minimum order size, below its total
        InvalidDisplaySize = 6173,
        /// An iceberg rests as a maker: it may not cross the oracle when placed
        IcebergCrosses = 6174,
        /// An iceberg only makes: it is never the taker of a fill
        IcebergTakes = 6175,
        /// A scale order has 2 to 32 orders between two positive prices, distributed flat (0), ascending (1) or descending (2)
        InvalidScale = 6176,
        /// A scale order's smallest order would be below the market's minimum order size
        ScaleSizeTooSmall = 6177,
        /// Bracket exits, TWAPs and orders waiting for a trigger are cancelled and placed again, not modified
        OrderNotModifiable = 6178,
        /// A scale order rests: none of its orders may cross the oracle when placed (post-only orders slide or reject)
        ScaleCrosses = 6179,
    }
}

/// Checked arithmetic failed.
pub fn overflow() -> ProgramError {
    RuntimeError::ArithmeticOverflow.into()
}
