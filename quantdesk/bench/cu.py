"""Recording compute units of single instructions against their targets."""
from __future__ import annotations

from dataclasses import dataclass, field

from quantdesk.chain import TxResult


@dataclass
class CuTable:
    """CU per instruction for one program; `targets` holds the budgets the issues set."""

    program: str
    targets: dict[str, int] = field(default_factory=dict)
    cu: dict[str, int] = field(default_factory=dict)

    def record(self, name: str, result: TxResult) -> TxResult:
        if not result.ok:
            raise RuntimeError(f"{self.program}.{name} failed in the benchmark: {result.error}\n" + "\n".join(result.logs))
        self.cu[name] = result.cu
        return result

    def derive(self, name: str, cu: int) -> None:
        """A figure computed from recorded ones (e.g. the cost of one more entry)."""
        self.cu[name] = cu

    def lines(self) -> list[str]:
        out = []
        for name, cu in self.cu.items():
            target = self.targets.get(name)
            verdict = "" if target is None else f"  target {target:>6,}  {'ok' if cu <= target else 'OVER'}"
            out.append(f"  {self.program:<14} {name:<32} {cu:>7,} CU{verdict}")
        return out

    def over_target(self) -> list[str]:
        return [f"{self.program}.{n}" for n, t in self.targets.items() if self.cu.get(n, 0) > t]


BENCH_SEED = b"quantdesk bench"
"""Every benchmark chain derives its keys from this, so PDA bump searches (about 1,500 CU each)
cost the same on every run and figures compare across builds."""
