"""The word pools titles, descriptions, handles and tags are drawn from.

Small on purpose: rendered JSON of pooled text is cached, and the pools still cover
what a parser must survive (empty, emoji, right-to-left, quotes, near the 5,000-char limit).
"""

from __future__ import annotations

import random

ADJ = ("Daily", "Epic", "Lazy", "Tiny", "Urban", "Cosmic", "Honest", "Quiet", "Wild", "Retro", "Curious",
       "Midnight", "Golden", "Rapid", "Cozy", "Brave", "Electric", "Hidden", "Salty", "Nordic")
NOUN = ("Kitchen", "Garage", "Gamer", "Science", "Travels", "Beats", "Maker", "Lab", "Chess", "Garden",
        "Studio", "Theory", "Workshop", "Cinema", "Robot", "Pixel", "Piano", "Hiker", "Chef", "Podcast")
UNICODE_TITLES = ("Café Ñandú", "ゲーム実況チャンネル", "Мастерская Ивана", "مطبخ سارة", "Crème brûlée TV",
                  "Ελληνικά Μαθήματα", "한국 요리", "Zażółć gęślą jaźń", "हिंदी कहानियाँ", "Smörgåsbord")
EMOJI = ("🎮", "🍳", "🚀", "🎸", "🌱", "🔥", "✨", "🐱", "📚", "🏔️")
WORDS = ("video", "today", "build", "review", "tutorial", "recipe", "journey", "update", "live", "guide",
         "how", "why", "best", "new", "first", "week", "with", "friends", "episode", "challenge")
COUNTRIES = ("US", "GB", "DE", "FR", "JP", "BR", "IN", "CA", "ES", "KR", "MX", "PL", "SE", "NG", "AU")


def _description_pool() -> tuple[str, ...]:
    """Channel and video descriptions: empty, short, emoji/unicode, and near the 5,000-char limit."""
    rng = random.Random(20260101)
    pool = ["", ""]
    for _ in range(30):
        pool.append(" ".join(rng.choice(WORDS) for _ in range(rng.randrange(5, 40))).capitalize() + ".")
    for n in range(20):
        pool.append(f"{UNICODE_TITLES[n % 10]} {EMOJI[n % 10]} — “{rng.choice(WORDS)}” ✓\n"
                    f"Kontakt: ü{n}@example.com\n\nNew videos every week → https://example.com/{n}")
    for _ in range(8):
        para = " ".join(rng.choice(WORDS) for _ in range(60)) + ".\n\n"
        pool.append((para * 40)[: rng.randrange(1500, 4900)])
    return tuple(pool)


DESCRIPTIONS = _description_pool()
