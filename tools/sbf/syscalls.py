"""Solana syscall names known to the SBPF v0 runtime, and the symbol hash the loader uses.

The names are those registered by agave's `create_program_runtime_environment_v1`
(syscalls/src/lib.rs). Some are feature-gated on a live cluster (blake3, curve25519,
alt_bn128, poseidon, big_mod_exp, get_sysvar, epoch_stake, fees sysvar, BLS12-381 curve
operations); `sol_alloc_free_` is refused for new deployments once
`disable_deploy_of_alloc_free_syscall` is active. A name outside this set is never resolved:
the v0 loader accepts the program and the call fails at run time, so the linker refuses it.
"""

from __future__ import annotations

KNOWN_SYSCALLS: frozenset[str] = frozenset(
    {
        "abort",
        "sol_panic_",
        "sol_log_",
        "sol_log_64_",
        "sol_log_pubkey",
        "sol_log_compute_units_",
        "sol_log_data",
        "sol_create_program_address",
        "sol_try_find_program_address",
        "sol_sha256",
        "sol_keccak256",
        "sol_secp256k1_recover",
        "sol_blake3",
        "sol_curve_validate_point",
        "sol_curve_group_op",
        "sol_curve_multiscalar_mul",
        "sol_curve_decompress",
        "sol_curve_pairing_map",
        "sol_get_clock_sysvar",
        "sol_get_epoch_schedule_sysvar",
        "sol_get_fees_sysvar",
        "sol_get_rent_sysvar",
        "sol_get_last_restart_slot",
        "sol_get_epoch_rewards_sysvar",
        "sol_get_sysvar",
        "sol_get_epoch_stake",
        "sol_memcpy_",
        "sol_memmove_",
        "sol_memset_",
        "sol_memcmp_",
        "sol_get_processed_sibling_instruction",
        "sol_get_stack_height",
        "sol_set_return_data",
        "sol_get_return_data",
        "sol_invoke_signed_c",
        "sol_invoke_signed_rust",
        "sol_alloc_free_",
        "sol_alt_bn128_group_op",
        "sol_alt_bn128_compression",
        "sol_big_mod_exp",
        "sol_poseidon",
        "sol_remaining_compute_units",
    }
)

# Upstream LLVM lowers `__builtin_trap` / `llvm.trap` to a call of `__bpf_trap`; the Solana
# runtime's equivalent is `abort`.
SYSCALL_ALIASES: dict[str, str] = {"__bpf_trap": "abort"}


def resolve_syscall(name: str) -> str | None:
    """The runtime syscall name an undefined symbol binds to, or None if it binds to none."""
    name = SYSCALL_ALIASES.get(name, name)
    return name if name in KNOWN_SYSCALLS else None


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit. The loader keys syscalls and functions by this hash (seed 0)."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    tail_start = len(data) - len(data) % 4
    for i in range(0, tail_start, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = data[tail_start:]
    if tail:
        k = int.from_bytes(tail, "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h


def syscall_hash(name: str) -> int:
    """The call immediate the loader writes for a syscall named `name`."""
    return murmur3_32(name.encode())
