"""Which margin accounts one party controls: two accounts are linked when one wallet acts for both
(owner or delegate), when a session key of one account's owner owns the other, or when collateral
moved between them. Linked accounts form groups; the rows that made each link are kept, so an
alert can show the chain of links between two accounts."""
from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable

from solders.pubkey import Pubkey

from quantdesk.surveillance.records import Ownership, Ref, SessionKey, Transfer

__all__ = ["Groups"]


class Groups:
    def __init__(self, ownerships: Iterable[Ownership], sessions: Iterable[SessionKey] = (), transfers: Iterable[Transfer] = ()) -> None:
        self._edges: defaultdict[Pubkey, list[tuple[Pubkey, Ref]]] = defaultdict(list)
        self._group: dict[Pubkey, Pubkey] = {}
        acts_for: defaultdict[Pubkey, list[tuple[Pubkey, Ref]]] = defaultdict(list)  # wallet -> the accounts it acts for
        owned: defaultdict[Pubkey, list[Pubkey]] = defaultdict(list)  # wallet -> the accounts it owns
        for o in ownerships:
            acts_for[o.agent].append((o.account, o.ref))
            if not o.delegate:
                owned[o.agent].append(o.account)
        for accounts in acts_for.values():
            for (a, _), (b, ref) in zip(accounts, accounts[1:]):
                self._link(a, b, ref)
        for s in sessions:
            for mine in owned.get(s.owner, [])[:1]:
                for account, _ in acts_for.get(s.key, []):
                    self._link(mine, account, s.ref)
        for t in transfers:
            self._link(t.source, t.destination, t.ref)
        self._label()

    def _link(self, a: Pubkey, b: Pubkey, ref: Ref) -> None:
        if a != b:
            self._edges[a].append((b, ref))
            self._edges[b].append((a, ref))

    def _label(self) -> None:
        """Each connected set of accounts is named by its smallest key."""
        for start in sorted(self._edges, key=bytes):
            if start in self._group:
                continue
            seen, todo = {start}, [start]
            while todo:
                for b, _ in self._edges[todo.pop()]:
                    if b not in seen:
                        seen.add(b)
                        todo.append(b)
            name = min(seen, key=bytes)
            for a in seen:
                self._group[a] = name

    def group(self, a: Pubkey) -> Pubkey:
        return self._group.get(a, a)

    def linked(self, a: Pubkey, b: Pubkey) -> bool:
        return self.group(a) == self.group(b)

    def evidence(self, a: Pubkey, b: Pubkey) -> list[Ref]:
        """The rows along a shortest chain of links from `a` to `b` (none when unlinked)."""
        back: dict[Pubkey, tuple[Pubkey, Ref] | None] = {a: None}
        queue = deque([a])
        while queue:
            x = queue.popleft()
            if x == b:
                refs = []
                while (step := back[x]) is not None:
                    x, ref = step
                    refs.append(ref)
                return refs[::-1]
            for y, ref in self._edges.get(x, []):
                if y not in back:
                    back[y] = (x, ref)
                    queue.append(y)
        return []
