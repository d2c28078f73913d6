"""`make bench`: compute units per instruction of every program (target/bench/cu.json, measured
in LiteSVM on representative calls) and the local validator's throughput
(target/bench/throughput.json). Each program's scenarios live in a module of its own."""
