"""`make bench`: compute units per instruction of every program (target/bench/cu.json, measured
in LiteSVM on representative calls), the fills a block takes at Solana's write-lock limits
(target/bench/fills_per_block.json, `blocks`) and the local validator's throughput
(target/bench/throughput.json). Each program's scenarios live in a module of its own."""
