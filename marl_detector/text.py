"""Post texts: a finite template vocabulary, rendered per episode, plus the rendering's canonical form.

Why a finite vocabulary: the semantic modality uses all-MiniLM-L6-v2 sentence embeddings, and embedding
~3 million posts for 100k episodes on 2 CPU cores is not feasible (~1 ms per sentence). Every simulated post
is a template with slots filled from small sets, so the whole vocabulary (about two thousand canonical texts)
is embedded once and cached (marl_detector/embed.py). The token's ticker is replaced by `$TOKEN` before
embedding (`canonical_text`), so a text's meaning does not depend on which meme token it talks about; the
live detector applies the same canonicalisation to real posts and embeds unseen texts on the fly.

Honest limitation: semantic diversity is bounded by these templates; the held-out campaign styles
(`whale_alert`, `community_meme`) use template families never seen in training to measure generalisation.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

import numpy as np

TOKEN = "$TOKEN"

SLOTS: dict[str, tuple[str, ...]] = {
    "x": ("10x", "50x", "100x", "1000x"),
    "e": ("🚀", "🚀🚀🚀", "🌕", "💎🙌", "🔥🔥", ""),
    "n": ("a major exchange", "a top payments company", "a big gaming studio", "a tier-1 VC fund"),
    "p": ("20%", "35%", "50%"),
    "h": ("in 10 minutes", "in 1 hour", "tonight", "at 17:00 UTC"),
}

FAMILIES: dict[str, tuple[str, ...]] = {
    # --- organic -------------------------------------------------------------------------------------
    "organic_chatter": (
        "anyone holding {T}? thinking about it",
        "{T} volume looks normal today",
        "what do you think about {T} long term?",
        "bought a small bag of {T}, not financial advice",
        "{T} chart is pretty flat this week",
        "is {T} still being developed? github seems quiet",
        "sold some {T} to pay rent lol",
        "{T} community call was ok, nothing big",
        "gas fees are killing me, might move my {T}",
        "does {T} have a roadmap somewhere?",
        "holding {T} since last year, still down a bit",
        "who else is tired of this sideways market",
        "{T} liquidity is thin, be careful with size",
        "learning how AMMs work, {T} pool is a good example",
        "the {T} devs answered my question in discord, nice",
        "just checking the {T} price before bed",
        "meh day for memecoins, {T} included",
        "{T} holders count slowly going up",
        "not sure about {T} tokenomics, need to read more",
        "staking {T} for now, will see",
    ),
    "organic_hype": (
        "honestly I really like {T}, fun community {e}",
        "{T} memes are the best this week {e}",
        "been in {T} for months, feels good to see some love",
        "{T} might do well this cycle, good vibes",
        "my friends started buying {T} too haha",
        "the {T} art contest was awesome",
        "{T} is my favourite meme, no reason, just fun {e}",
        "long term believer in {T}, small steady growth",
        "{T} community is very friendly, glad I joined",
        "nice to see {T} trending a little",
        "{T} merch finally arrived {e}",
        "{T} devs shipped the wallet update, smooth",
    ),
    "news": (
        "Official: {T} is now listed on {n}, trading opens today",
        "Announcement: {T} team signs a partnership with {n}",
        "{T} completes its security audit with no critical findings",
        "Release: {T} v2 contracts are live on mainnet",
        "{T} treasury report: revenue up {p} quarter over quarter",
        "{T} joins the ecosystem grant program of {n}",
        "Governance vote passed: {T} fee switch enabled",
        "{T} integrates with {n} for payments, rollout this week",
        "Press release: {T} secures funding from {n}",
        "{T} bridge to a second chain goes live today",
    ),
    "news_reaction": (
        "big news for {T}, the listing is real",
        "just read the {T} announcement, looks legit",
        "{T} partnership confirmed on the official blog",
        "finally {T} gets a real use case",
        "the audit result is great news for {T} holders",
        "{T} fundamentals just improved a lot",
        "good to see {T} delivering on the roadmap",
        "this {T} news changes the picture, adding to my position",
        "checked the {T} press release, sources look solid",
        "{T} v2 launch went smoothly, impressed",
    ),
    # --- manipulation styles seen in training -----------------------------------------------------------
    "moon_emoji": (
        "{T} TO THE MOON {e} {x} INCOMING",
        "BUY {T} NOW {e} LAST CHANCE {x}",
        "{T} {x} GEM {e} DONT MISS IT",
        "{e} {T} {e} next {x} guaranteed",
        "{T} pumping {h} {e} get in early",
        "who is ready for {T} {x}?? {e}",
        "{T} going parabolic {e} {e}",
        "ape into {T} before it is too late {e}",
        "{T} is the next {x} memecoin {e}",
        "dont sleep on {T} {x} {e}",
    ),
    "fake_partnership": (
        "leaked: {T} partnership with {n} announced {h}",
        "insiders say {n} is buying {T}, get in before the news",
        "rumour confirmed: {T} listing on {n} {h}",
        "{T} secret deal with {n}, price will explode",
        "my source at {n} says {T} integration is coming",
        "{n} wallet just accumulated {T}, news {h}",
        "BREAKING (unconfirmed): {n} backs {T}",
        "{T} will be announced by {n} {h}, load up",
        "exclusive: {T} to partner with {n}, {x} potential",
        "before the official news: {T} and {n} deal is done",
    ),
    "influencer": (
        "I rarely call coins but {T} is special, {x} easy",
        "my top pick for this week: {T} {e}",
        "told my followers about {T} early, now its your turn",
        "{T} is my biggest position now, {x} target",
        "thread: why {T} will {x} this month {e}",
        "trust me on {T}, I have been right before",
        "my private group is all in {T} {e}",
        "{T} is the play, entries close {h}",
        "not financial advice but {T} {x} {e}",
        "reminder: {T} is still early, {x} coming",
    ),
    "technical_analysis": (
        "{T} breaking out of a cup and handle, target {x}",
        "{T} RSI oversold, bounce of {p} imminent",
        "{T} golden cross on the 4h chart {e}",
        "{T} bull flag confirmed, next leg up {h}",
        "fib levels say {T} goes {x} from here",
        "{T} accumulation zone, whales loading before breakout",
        "{T} volume divergence screams reversal {e}",
        "{T} ascending triangle, breakout {h}",
        "{T} retested support, {p} move incoming",
        "chart does not lie: {T} is about to {x}",
    ),
    "airdrop": (
        "FREE {T} airdrop for holders {h} {e}",
        "hold {T} now to qualify for the {x} airdrop",
        "{T} giveaway: buy and retweet to win {e}",
        "airdrop snapshot for {T} {h}, dont miss it",
        "{T} holders get bonus tokens {h} {e}",
        "claim your {T} rewards, only for buyers before the snapshot",
        "{T} airdrop is {x} bigger than expected {e}",
        "last call for the {T} airdrop snapshot {h}",
        "{T} loyalty rewards {p} for new buyers",
        "buy {T} now, airdrop multiplier {x} {e}",
    ),
    # --- manipulation styles held out for the test split ---------------------------------------------------
    "whale_alert": (
        "WHALE ALERT: 2,000,000 {T} moved to a fresh wallet {e}",
        "on-chain: smart money wallets buying {T}",
        "tracker: top trader opened a huge {T} position",
        "alert: {T} whale accumulation detected {h}",
        "wallet 0xab..12 just bought {T} again {e}",
        "bot signal: {T} inflow spike, {x} setup",
        "whales are rotating into {T}, follow the money",
        "on-chain data: {T} exchange outflows at record high",
        "copy-trade alert: {T} buy signal {h}",
        "smart money tracker flags {T} {e}",
    ),
    "community_meme": (
        "{T} army assemble {e}",
        "me and the {T} frens vibing {e}",
        "{T} meme of the day, we are so early",
        "join the {T} raid, lets trend {h}",
        "{T} community is unstoppable {e} {x}",
        "gm to {T} holders only {e}",
        "{T} is a movement not a coin",
        "{T} frog says buy {e}",
        "raid time: everyone post about {T} {h}",
        "we are all gonna make it with {T} {e}",
    ),
}

TRAIN_STYLES: tuple[str, ...] = ("moon_emoji", "fake_partnership", "influencer", "technical_analysis", "airdrop")
TEST_STYLES: tuple[str, ...] = ("whale_alert", "community_meme")
ALL_STYLES = TRAIN_STYLES + TEST_STYLES

_SLOT_RE = re.compile(r"\{(\w)\}")


def canonical_text(text: str, ticker: str) -> str:
    """The text as embedded: the episode's ticker replaced by `$TOKEN`, whitespace collapsed."""
    if ticker:
        text = text.replace(f"${ticker}", TOKEN)
    return " ".join(text.split())


@lru_cache(maxsize=None)
def family_variants(family: str) -> tuple[str, ...]:
    """Every canonical text of a family (all slot fillings), in a fixed order."""
    if family not in FAMILIES:
        raise KeyError(f"unknown text family {family!r}")
    out: list[str] = []
    for template in FAMILIES[family]:
        names = sorted(set(_SLOT_RE.findall(template)) - {"T"})
        for combo in itertools.product(*(SLOTS[n] for n in names)):
            fill = dict(zip(names, combo), T=TOKEN)
            out.append(" ".join(template.format(**fill).split()))
    return tuple(dict.fromkeys(out))


@lru_cache(maxsize=1)
def vocabulary() -> tuple[str, ...]:
    """All canonical texts the simulator can emit (what the embedding cache is built from)."""
    return tuple(dict.fromkeys(t for f in FAMILIES for t in family_variants(f)))


def sample_text(family: str, rng: np.random.Generator, ticker: str) -> str:
    """One rendered post of a family for a token with ticker `ticker`."""
    variants = family_variants(family)
    return variants[int(rng.integers(len(variants)))].replace(TOKEN, f"${ticker}")
