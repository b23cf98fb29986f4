"""Images as they come off a phone: the build publishes a web-ready copy of each.

A 4000×3000 photo turned by its EXIF tag was copied as it was (5 MB, sideways in
the clients that ignore the tag, with the device and the place it was taken in),
and the email's ``width`` came from the original's header.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from PIL import Image

from infolettre.config import Config
from infolettre.edition import cache
from infolettre.edition.assets import MAX_WIDTH, published_size, web_copy
from infolettre.edition.build import build_issue

ORIENTATION = 0x0112  # EXIF tag: 6 = turn 90° clockwise to show


def photo(path: Path, size: tuple[int, int], *, noise: bool = False,
          orientation: int = 6) -> Path:
    """A JPEG as a phone writes it: EXIF orientation and a camera model, full quality."""
    if noise:  # incompressible, so that the file weighs what a real photo does
        picture = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        picture = Image.linear_gradient("L").resize(size).convert("RGB")
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x0110] = "Phone 12"  # Model
    picture.save(path, "JPEG", quality=95, exif=exif.tobytes())
    return path


def use_image(sample: Path, name: str) -> Path:
    """Make the sample's Charleroi item show ``name`` as its image."""
    item = sample / "news" / "charleroi-album-jeunesse.md"
    item.write_text(item.read_text(encoding="utf-8").replace(
        "src: album-ce-matin-la.png", f"src: {name}"), encoding="utf-8")
    return item


@pytest.fixture(scope="module")
def phone_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return photo(tmp_path_factory.mktemp("phone") / "photo.jpg", (4000, 3000), noise=True)


def test_a_phone_photo_is_published_narrowed_turned_and_without_metadata(
        sample: Path, tmp_path: Path, config: Config, phone_photo: Path) -> None:
    original = (sample / "news" / "photo.jpg")
    original.write_bytes(phone_photo.read_bytes())
    use_image(sample, "photo.jpg")
    build_issue(sample, tmp_path / "out", config)
    published = tmp_path / "out" / "news" / "photo.jpg"
    assert published.stat().st_size < original.stat().st_size
    with Image.open(published) as copy:
        assert copy.format == "JPEG"
        assert copy.size == (MAX_WIDTH, 1600)  # turned upright: portrait, 1200 px wide
        assert not copy.getexif()
        assert "exif" not in copy.info and copy.info.get("progressive")
    html = (tmp_path / "out" / "fr" / "email.html").read_text(encoding="utf-8")
    assert re.search(r'src="[^"]*/news/photo\.jpg"[^>]*width="552"', html)


def test_the_width_given_is_that_of_the_published_copy(sample: Path, tmp_path: Path,
                                                       config: Config) -> None:
    """A 500×300 picture shown turned is 300 px wide: the header said 500."""
    photo(sample / "news" / "small.jpg", (500, 300))
    use_image(sample, "small.jpg")
    build_issue(sample, tmp_path / "out", config)
    with Image.open(tmp_path / "out" / "news" / "small.jpg") as copy:
        assert copy.size == (300, 500)
    html = (tmp_path / "out" / "fr" / "email.html").read_text(encoding="utf-8")
    assert re.search(r'src="[^"]*/news/small\.jpg"[^>]*width="300"', html)


def test_a_copy_that_is_not_smaller_is_not_kept(tmp_path: Path) -> None:
    """An image already made for the web is published byte for byte."""
    small = tmp_path / "tiny.png"
    Image.new("P", (40, 20)).save(small, "PNG", optimize=True)
    assert web_copy(small) is None
    assert published_size(small) == (40, 20)
    sample_png = Path(__file__).resolve().parents[2] / "issues" / "2018-06" / "news"
    assert published_size(sample_png / "album-ce-matin-la.png")[0] == 480


def test_a_large_png_is_narrowed_and_stays_png(tmp_path: Path) -> None:
    wide = tmp_path / "scan.png"
    Image.linear_gradient("L").resize((3000, 1000)).save(wide, "PNG")
    data, size = web_copy(wide)
    assert size == (MAX_WIDTH, 400)
    assert Image.open(io.BytesIO(data)).format == "PNG"


def test_what_pillow_cannot_read_is_published_as_it_is(tmp_path: Path) -> None:
    fake = tmp_path / "broken.jpg"
    fake.write_bytes(b"\xff\xd8not really a jpeg")
    assert web_copy(fake) is None


def test_the_cached_edition_changes_with_the_image(sample: Path, config: Config) -> None:
    photo(sample / "news" / "photo.jpg", (800, 600))
    use_image(sample, "photo.jpg")
    before = cache.edition_key(sample, config)
    photo(sample / "news" / "photo.jpg", (800, 600), orientation=8)
    assert cache.edition_key(sample, config) != before


def test_images_get_the_height_of_the_published_copy_and_never_auto(
        sample: Path, tmp_path: Path, config: Config, phone_photo: Path) -> None:
    """Only a ``width`` was written, and premailer turned the theme's ``height: auto``
    into ``height="auto"`` (not valid HTML); images of the text had neither."""
    (sample / "news" / "photo.jpg").write_bytes(phone_photo.read_bytes())
    item = use_image(sample, "photo.jpg")
    photo(sample / "news" / "groupe.jpg", (1000, 500), orientation=1)
    item.write_text(item.read_text(encoding="utf-8") + "\n![Le groupe](groupe.jpg)\n",
                    encoding="utf-8")
    build_issue(sample, tmp_path / "out", config)
    for name in ("email.html", "index.html"):
        html = (tmp_path / "out" / "fr" / name).read_text(encoding="utf-8")
        assert 'height="auto"' not in html, name
        # 4000×3000 turned upright, narrowed to 1200×1600, shown 552 wide.
        assert re.search(r'src="[^"]*/news/photo\.jpg"[^>]*width="552" height="736"', html)
        tag = re.search(r'<img[^>]*/news/groupe\.jpg"[^>]*>', html)
        assert tag and 'width="552"' in tag[0] and 'height="276"' in tag[0], name
