"""The landing listing of a local folder (``os.scandir``) says what fsspec's ``find`` says:
the same files with the same sizes and versions, so ``meta.loaded_files`` of a warehouse
loaded before still matches (a changed version would load every file again)."""

from __future__ import annotations

import os
from pathlib import Path

import fsspec

from cxscore.load.landing import _find_local, _version, discover, discover_changed, file_sources
from cxscore.settings import load_settings


def _tree(root: Path) -> None:
    deep = root / "Analysis" / "Voice" / "Redacted" / "2026" / "11" / "23"
    deep.mkdir(parents=True)
    (deep / "c1_analysis_redacted_2026-11-23T10:00:00Z.json").write_text('{"a": 1}')
    (deep / ".hidden.json").write_text("{}")
    (root / "Analysis" / "Chat").mkdir(parents=True)
    (root / "Analysis" / "Chat" / "c2.json").write_text('{"chat": true}')
    (root / "Analysis" / "notes.txt").write_text("not a landing file")
    (root / "top.json").write_text("{}")
    os.utime(root / "top.json", (1_700_000_000.25, 1_700_000_000.25))
    (root / "empty").mkdir()
    (root / "link.json").symlink_to(root / "Analysis" / "Chat" / "c2.json")
    (root / "linked_dir").symlink_to(root / "Analysis", target_is_directory=True)
    (root / "dangling.json").symlink_to(root / "missing.json")


def test_the_local_listing_equals_fsspecs_find(tmp_path: Path) -> None:
    root = tmp_path / "contact_lens"
    _tree(root)
    fs, root_path = fsspec.core.url_to_fs(str(root))
    expected = {
        path: (info["size"], _version(info))
        for path, info in fs.find(root_path, detail=True).items()
    }
    found = {
        path: (size, _version({"mtime": mtime}))
        for path, (size, mtime) in _find_local(root_path).items()
    }
    assert found == expected
    assert found[f"{root_path}/top.json"] == (2, "mtime=1700000000.25")
    assert found[f"{root_path}/link.json"][0] == len('{"chat": true}')  # the target's size
    assert f"{root_path}/linked_dir" in found  # a link to a folder is listed, not followed
    assert _find_local(str(tmp_path / "nowhere")) == {}


def test_discover_lists_the_sources_files_in_path_order(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _tree(landing / "ivr" / "contact_lens")
    settings = load_settings(environ={"CX_LANDING_DIR": str(landing)})
    files = discover(str(landing), file_sources(settings)["contact_lens"])
    assert [f.path for f in files] == [
        "ivr/contact_lens/Analysis/Chat/c2.json",
        "ivr/contact_lens/Analysis/Voice/Redacted/2026/11/23/"
        "c1_analysis_redacted_2026-11-23T10:00:00Z.json",
        "ivr/contact_lens/dangling.json",
        "ivr/contact_lens/link.json",
        "ivr/contact_lens/top.json",
    ]
    assert [f.size for f in files] == [14, 8, 0, 14, 2]
    assert files[-1].version == "mtime=1700000000.25"
    assert files[-1].url == str(landing / "ivr" / "contact_lens" / "top.json")


def test_unchanged_files_are_counted_and_left_out_of_the_listing(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _tree(landing / "ivr" / "contact_lens")
    settings = load_settings(environ={"CX_LANDING_DIR": str(landing)})
    source = file_sources(settings)["contact_lens"]
    files = {f.path: f for f in discover(str(landing), source)}
    top, chat = files["ivr/contact_lens/top.json"], files["ivr/contact_lens/Analysis/Chat/c2.json"]
    loaded = {
        (top.path, 2, "mtime=1700000000.25"),  # loaded completely, unchanged: skipped
        (chat.path, 13, chat.version),  # recorded with another size: listed again
        ("ivr/contact_lens/gone.json", 5, "mtime=1.0"),  # no longer in the tree
    }
    listing = discover_changed(str(landing), source, loaded)
    assert (listing.skipped, listing.listed) == (1, 5)
    assert [f.path for f in listing.files] == [
        "ivr/contact_lens/Analysis/Chat/c2.json",
        "ivr/contact_lens/Analysis/Voice/Redacted/2026/11/23/"
        "c1_analysis_redacted_2026-11-23T10:00:00Z.json",
        "ivr/contact_lens/dangling.json",
        "ivr/contact_lens/link.json",
    ]
    # another mtime is another version: listed again (the load compares the content)
    os.utime(landing / "ivr" / "contact_lens" / "top.json", (1_700_000_001.0, 1_700_000_001.0))
    assert discover_changed(str(landing), source, loaded).skipped == 0
