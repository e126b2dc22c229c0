"""Mainland resident ID numbers (GB 11643-1999): 17 digits, a check character, the birth date."""

from __future__ import annotations

from datetime import date

from shouhu.errors import InvalidInput

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_character(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def validate(id_number: str, birth_date: date, field: str = "child.id_number") -> str:
    """Normalised ID number, or an error saying what is wrong with it."""
    value = id_number.strip().upper()
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in "0123456789X":
        raise InvalidInput("bad_id_number", f"{field} must be 18 characters: 17 digits and a check digit or X", field)
    if check_character(value[:17]) != value[17]:
        raise InvalidInput("bad_id_checksum", f"{field} has a wrong check character (GB 11643-1999)", field)
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidInput("bad_id_number", f"{field} does not contain a valid birth date", field) from None
    if born != birth_date:
        raise InvalidInput(
            "id_birth_mismatch",
            f"{field} says born {born.isoformat()} but child.birth_date is {birth_date.isoformat()}",
            field,
        )
    return value


def make(region: str, birth_date: date, sequence: int) -> str:
    """A checksum-valid ID number (demo data and tests)."""
    first17 = f"{region}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)
