"""The social feed the live detector reads: a JSONL file the simulator (or a crawler) appends posts to.

Why a file and not an on-chain event: posts are off-chain data (a platform's API), large and frequent; writing
them to chain would cost gas for nothing the contracts use. One JSON object per line:
    {"timestamp": 1795..., "ticker": "PEPE", "author": "acct_17", "text": "...",
     "age_days": 12.5, "followers": 40, "following": 300, "follows": ["acct_3", ...]}
`timestamp` is chain time (seconds); `follows` (optional) lists accounts the author follows. The reader tails
the file from its last byte offset, so appending while the detector runs is safe.

A malformed line is skipped and named (`PostFeed.rejected`, one line each: file, line number, why), never fatal:
the feed is written by another process while the detector holds hidden commitments, and a detector that died on
a bad line would leave them unrevealed (−15 each). A skipped post is in no observation, so no prediction is made
from a half-read record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from core import untrusted_json
from core.errors import SymphonyError
from marl_detector.observation import AccountInfo, PostRecord, SocialObservation

REQUIRED = ("timestamp", "ticker", "author", "text")


@dataclass
class FeedPost:
    ticker: str
    post: PostRecord
    account: AccountInfo
    follows: tuple[str, ...] = ()


def append_posts(path: Path, posts: list[dict]) -> None:
    """Append posts (dicts in the schema above) to the feed, validating each first."""
    for p in posts:
        _parse(p, f"{path} (new post)")
    with Path(path).open("a") as handle:
        for p in posts:
            handle.write(json.dumps(p) + "\n")


def _parse(d: object, where: str) -> FeedPost:
    if not isinstance(d, dict):
        raise SymphonyError(f"{where}: a post must be a JSON object")
    missing = [k for k in REQUIRED if k not in d]
    if missing:
        raise SymphonyError(f"{where}: post lacks {', '.join(missing)}")
    try:
        ts = int(d["timestamp"])
        account = AccountInfo(str(d["author"]), float(d.get("age_days", 365.0)), int(d.get("followers", 0)),
                              int(d.get("following", 0)))
        follows = d.get("follows", ())
        if not isinstance(follows, (list, tuple)):
            raise TypeError(f"follows must be a list, got {type(follows).__name__}")
        follows = tuple(str(x) for x in follows)
    except (TypeError, ValueError, OverflowError) as exc:
        raise SymphonyError(f"{where}: bad field value ({exc})") from None
    if not isinstance(d["text"], str) or not isinstance(d["ticker"], str) or not d["ticker"]:
        raise SymphonyError(f"{where}: ticker and text must be strings")
    if ts < 0 or account.age_days < 0 or account.followers < 0 or account.following < 0:
        raise SymphonyError(f"{where}: timestamp, age_days, followers and following must not be negative")
    return FeedPost(str(d["ticker"]), PostRecord(ts, str(d["author"]), str(d["text"])), account, follows)


@dataclass
class PostFeed:
    """Tails a JSONL post file; keeps every post seen, per ticker."""

    path: Path
    posts: dict[str, list[FeedPost]] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)  # one line per skipped line, since the last take_rejected()
    _offset: int = 0
    _line: int = 0

    def take_rejected(self) -> list[str]:
        """The skipped lines reported since the last call."""
        out, self.rejected = self.rejected, []
        return out

    def take_rejected_line(self) -> str | None:
        """The lines skipped since the last call as one line (how many, and the first with its reason), or None.

        Why one line: a feed written by a broken crawler may hold thousands of bad lines, and a detector printing one
        each would bury the lines that matter (its commits, reveals and shutdown report)."""
        rejected = self.take_rejected()
        if not rejected:
            return None
        n = len(rejected)
        return (f"post feed {self.path}: skipped {n} malformed line{'s' if n > 1 else ''} "
                f"(first: {rejected[0].removeprefix(f'{self.path}:').removesuffix('; line skipped')})")

    def poll(self) -> int:
        """Read lines appended since the last poll; returns how many posts were added (bad lines are skipped
        and named in `rejected`)."""
        path = Path(self.path)
        if not path.exists():
            return 0
        added = 0
        with path.open("rb") as handle:
            handle.seek(self._offset)
            while True:
                raw = handle.readline()
                if not raw or not raw.endswith(b"\n"):
                    break  # a partial last line is read again once complete
                self._offset += len(raw)
                self._line += 1
                if not raw.strip():
                    continue
                try:  # strict and bounded: NaN/Infinity, 5000-digit numbers and deep nesting are bad lines too
                    data = untrusted_json.loads(raw, SymphonyError, "not valid JSON")
                except SymphonyError as exc:
                    self._reject(f"{path}:{self._line}: {exc}; line skipped")
                    continue
                try:
                    fp = _parse(data, f"{path}:{self._line}")
                except SymphonyError as exc:
                    self._reject(f"{exc}; line skipped")
                    continue
                self.posts.setdefault(fp.ticker, []).append(fp)
                added += 1
        return added

    def _reject(self, message: str) -> None:
        self.rejected.append(message)

    def social(self, ticker: str, t_start: int, t0: int) -> SocialObservation:
        """Posts about `ticker` in `[t_start, t0)`, their authors and the follow edges among them."""
        window = sorted((fp for fp in self.posts.get(ticker, []) if t_start <= fp.post.timestamp < t0),
                        key=lambda fp: fp.post.timestamp)
        accounts = {fp.account.account_id: fp.account for fp in window}
        follows = sorted({(fp.account.account_id, f) for fp in window for f in fp.follows if f in accounts})
        return SocialObservation([fp.post for fp in window], accounts, follows)
