import pytest

from channel_assets.youtube import CHANNEL_ID_RE, InvalidChannelId, is_valid_channel_id, validate_channel_ids

from .conftest import CH1, CH2


def test_valid_ids_stripped_and_deduplicated_in_order():
    assert validate_channel_ids([f"  {CH2}\n", CH1, CH2, f"{CH1} "]) == [CH2, CH1]


@pytest.mark.parametrize("bad", [
    "UC_x5XG1OV2P6uZZ5FSM9Tt", "UC_x5XG1OV2P6uZZ5FSM9Ttww", "UU_x5XG1OV2P6uZZ5FSM9Ttw",
    "UC_x5XG1OV2P6uZZ5FSM9T w", "UC_x5XG1OV2P6uZZ5FSM9Tt%", "", None, 42, "UC_x5XG1OV2P6uZZ5FSM9Ttw\nx",
])
def test_invalid_ids_rejected_with_one_line_message(bad):
    assert not is_valid_channel_id(bad)
    with pytest.raises(InvalidChannelId) as info:
        validate_channel_ids([CH1, bad, "also bad"])
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert "\n" not in message and repr(bad)[:20] in message


def test_regex_and_trailing_newline():
    assert CHANNEL_ID_RE.pattern == r"^UC[A-Za-z0-9_-]{22}$"
    assert not is_valid_channel_id(CH1 + "\n")
    assert is_valid_channel_id(CH1)


def test_single_string_is_not_a_list_of_ids():
    with pytest.raises(InvalidChannelId):
        validate_channel_ids(CH1)
