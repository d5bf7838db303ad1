import pytest

from boztell.phones import InvalidPhone, normalize_phone


@pytest.mark.parametrize(
    "raw",
    [
        "081234567890",
        "0812-3456-7890",
        "0812 3456 7890",
        "+62 812-3456-7890",
        "+6281234567890",
        "6281234567890",
        "62 812 3456 7890",
        "81234567890",
        "812-3456-7890",
        "(0812) 3456 7890",
        "006281234567890",
        6281234567890,
    ],
)
def test_indonesian_spellings_normalise_to_the_wa_id(raw):
    assert normalize_phone(raw) == "6281234567890"


def test_foreign_number_with_plus_keeps_its_country_code():
    assert normalize_phone("+1 415 555 0100") == "14155550100"


@pytest.mark.parametrize(
    "raw, words",
    [
        ("", "required"),
        (None, "required"),
        ("   ", "required"),
        ("0812abc4567", "not a phone number"),
        ("call me", "not a phone number"),
        ("0812", "8 to 15 digits"),
        ("12345", "8 to 15 digits"),
        ("+62 812 3456 7890 1234 5", "8 to 15 digits"),
        ("++6281234567890", "not a phone number"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(raw, words):
    with pytest.raises(InvalidPhone) as caught:
        normalize_phone(raw)
    assert caught.value.code == "invalid_phone"
    assert words in caught.value.message
