"""YouTube Data API v3 client (plain Python on httpx; knows nothing of Dagster or the database)."""

from .client import CHANNEL_FIELDS, MAX_IDS_PER_CALL, QuotaGate, YouTubeClient
from .errors import (
    ChannelForbidden,
    CircuitOpen,
    ConfigurationError,
    NotFound,
    QuotaExceeded,
    QuotaShareExhausted,
    RateLimited,
    TransientError,
    YouTubeError,
    classify_error,
)
from .feed import parse_feed
from .ids import (
    CHANNEL_ID_RE,
    InvalidChannelId,
    InvalidVideoId,
    is_valid_channel_id,
    is_valid_video_id,
    validate_channel_ids,
    validate_video_ids,
)
from .parsing import parse_channel_list, parse_playlist_page, parse_video_list
from .records import (
    ChannelBatch,
    ChannelRecord,
    FeedEntry,
    FeedResult,
    PlaylistPage,
    VideoBatch,
    VideoDetails,
    VideoDetailsBatch,
    VideoRecord,
)
from .redaction import install_log_redaction, one_line, redact, register_secret
from .resilience import CircuitBreaker

__all__ = [
    "CHANNEL_FIELDS", "CHANNEL_ID_RE", "MAX_IDS_PER_CALL",
    "ChannelBatch", "ChannelForbidden", "ChannelRecord", "CircuitBreaker", "CircuitOpen",
    "ConfigurationError", "FeedEntry", "FeedResult", "InvalidChannelId", "InvalidVideoId", "NotFound",
    "PlaylistPage", "QuotaExceeded", "QuotaGate", "QuotaShareExhausted", "RateLimited", "TransientError",
    "VideoBatch", "VideoDetails", "VideoDetailsBatch", "VideoRecord", "YouTubeClient", "YouTubeError",
    "classify_error", "install_log_redaction", "is_valid_channel_id", "is_valid_video_id", "parse_channel_list",
    "one_line", "parse_feed", "parse_playlist_page", "parse_video_list", "redact", "register_secret",
    "validate_channel_ids", "validate_video_ids",
]
