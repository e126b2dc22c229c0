"""Policy packs load, cite their sources, and a broken pack says file, key and problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shouhu import config, policy
from shouhu.errors import PolicyError


def test_every_seed_jurisdiction_has_a_valid_pack() -> None:
    packs = policy.all_packs()
    assert sorted(packs) == ["mentougou", "sixian", "wuhai", "yantai", "yunyang"]
    for p in packs.values():
        types = {u.type for u in p.units.value}
        assert {"police_bureau", "police_station", "civil_affairs", "court", "township", "village"} <= types
        assert {u.role for u in p.demo_users.value} >= {
            "police_intake",
            "police",
            "township_caseworker",
            "village_director",
            "civil_affairs",
            "manager",
        }


def test_seed_peculiarities_are_in_the_packs() -> None:
    assert policy.pack("sixian").tasks["temporary_guardianship"].owner == "civil_affairs"
    assert "seed 001 §二(一)5" in policy.pack("sixian").tasks["temporary_guardianship"].source
    assert policy.pack("sixian").verification_visits.value == "quarter"
    assert [w.name for w in policy.pack("sixian").patrol_windows.value] == ["寒假重点时段巡查", "暑假重点时段巡查"]
    assert policy.pack("mentougou").patrol_windows.value == []
    assert policy.pack("mentougou").word("township") == "镇街"
    assert len(policy.pack("mentougou").petition_grounds.value) == 3
    assert "seed 004 §三(二)5" in policy.pack("mentougou").petition_grounds.source
    assert policy.pack("wuhai").exit_reasons.value["aged_out"].phase_out_months == 6
    assert [r.one_of for r in policy.pack("yantai").required_measures.value["parent_detained"]] == [
        ["entrusted_care", "temporary_care"],
        ["written_handover"],
    ]
    assert "seed 001 §二(一)5" in policy.pack("sixian").required_measures.value["parent_detained"][0].source


def _broken(tmp_path: Path, name: str, old: str, new: str) -> PolicyError:
    """Copy every pack, break `name` by replacing `old` (which must be there) with `new`; the loader's error."""
    for f in config.POLICY_DIR.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    text = (tmp_path / f"{name}.yaml").read_text(encoding="utf-8")
    assert old in text, old
    (tmp_path / f"{name}.yaml").write_text(text.replace(old, new) if old else new, encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        policy.load_pack(name, tmp_path)
    return err.value


def test_a_rule_without_a_source_is_refused(tmp_path: Path) -> None:
    err = _broken(
        tmp_path,
        "sixian",
        'source: "seed 001 §二(一)6 村（居）民委员会应建立',
        'source: "because we said so 村（居）民委员会应建立',
    )
    assert (err.file, err.key) == ("sixian.yaml", "verification_visits.source")
    assert "local default" in err.problem


def test_a_bad_value_names_file_key_and_problem(tmp_path: Path) -> None:
    err = _broken(tmp_path, "wuhai", "high: {every: {days: 30}, count: 3}", "high: {every: {weeks: 4}, count: 3}")
    assert (err.file, err.key) == ("wuhai.yaml", "follow_up.by_risk.high.every.weeks")


def test_a_unit_naming_an_unknown_parent_is_refused(tmp_path: Path) -> None:
    err = _broken(
        tmp_path, "yantai", "parent: yt-t-mq, supervisor: yt-t-mq", "parent: yt-t-nowhere, supervisor: yt-t-mq"
    )
    assert err.file == "yantai.yaml" and err.key.endswith(".parent") and "yt-t-nowhere" in err.problem


def test_broken_yaml_is_a_clear_error(tmp_path: Path) -> None:
    err = _broken(tmp_path, "yunyang", "", "pack: yunyang\nunits: [unclosed\n")
    assert err.file == "yunyang.yaml" and "YAML" in err.problem
