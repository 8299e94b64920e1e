"""Public complaints: filing (spam checks, photos sniffed, limited and stripped of metadata,
rate limit), following by receipt number, and the bureau's side (assign, answer, extend,
close, deadlines, overdue flags, append-only history)."""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from PIL import ExifTags, Image, PngImagePlugin

from restora.service import antispam, photos
from restora.service.permissions import NEVER_PUBLIC, PUBLIC_FIELDS
from restora.service.security import Principal
from restora.store import disclosure as D
from restora.store.audit import Change
from restora.store.platform_tables import complaint_photos, complaints, organisations, users

NR = Principal(role="natural_resources", user_id=None, username="qs-nr", region="430599")
ECO_OTHER = Principal(role="ecology_environment", user_id=None, username="x", region="430521")
SECRET = "test-secret-key"


@pytest.fixture(scope="module")
def app(store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from restora.service.app import create_app
    from restora.service.settings import Settings

    settings = Settings(
        database_url=store_url,
        secret_key=SECRET,
        secret_key_from_env=True,
        data_dir=tmp_path_factory.mktemp("complaint-data"),
        public_rate_per_hour=1000,
        public_pow_bits=6,
    )
    return create_app(settings)


@pytest.fixture
def as_role(client: TestClient) -> Iterator[Any]:
    def set_role(principal: Principal | None) -> None:
        async def authenticate(request: Any) -> Principal:
            return principal  # type: ignore[return-value]

        client.app.state.authenticate = None if principal is None else authenticate  # type: ignore[attr-defined]

    yield set_role
    client.app.state.authenticate = None  # type: ignore[attr-defined]


def _form(client: TestClient, **fields: Any) -> dict[str, Any]:
    """A valid filing: a solved proof-of-work challenge and the given fields."""
    ch = client.get("/api/v1/public/complaints/challenge").json()
    return {"challenge": ch["challenge"], "nonce": antispam.solve(ch["challenge"]), **fields}


def _jpeg_with_gps(size: tuple[int, int] = (64, 32), orientation: int | None = None) -> bytes:
    """A JPEG whose EXIF names a camera and a GPS position (Pillow writes it)."""
    img = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "PhoneCam 9"
    exif[ExifTags.Base.BodySerialNumber] = "SN-123456"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (27.0, 35.0, 47.4)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (112.0, 59.0, 5.2)
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    data = buf.getvalue()
    # the test photo does carry the position before it is filed
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    return data


def _png(size: tuple[int, int] = (20, 10), mode: str = "RGB", text: bool = False) -> bytes:
    img = Image.new(mode, size)
    info = PngImagePlugin.PngInfo()
    if text:
        info.add_text("Comment", "GPSLatitude 27.596506 taken at home")
        info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPSLongitude 112.98</x:xmpmeta>")
    buf = io.BytesIO()
    img.save(buf, "PNG", pnginfo=info if text else None)
    return buf.getvalue()


# ------------------------------------------------------------------------------ filing
def test_a_photo_is_stored_without_exif_or_gps(client, app):
    original = _jpeg_with_gps()
    r = client.post(
        "/api/v1/public/complaints",
        data=_form(client, text="黑水从废石堆流进稻田", mine_id="QS-M09"),
        files=[("photos", ("IMG_0001.jpg", original, "image/jpeg"))],
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "received" and body["photos"] == 1 and body["mine_id"] == "QS-M09"
    with app.state.store.engine.connect() as conn:
        row = conn.execute(
            sa.select(complaint_photos)
            .join(complaints)
            .where(complaints.c.receipt == body["receipt"])
        ).one()
    stored = (Path(app.state.settings.data_dir) / row.path).read_bytes()
    im = Image.open(io.BytesIO(stored))
    assert im.format == "JPEG" and im.size == (64, 32)
    assert len(im.getexif()) == 0 and "exif" not in im.info and "xmp" not in im.info
    assert b"Exif" not in stored and b"PhoneCam" not in stored and b"SN-123456" not in stored
    assert row.size_bytes == len(stored) and row.content_type == "image/jpeg"


def test_exif_orientation_is_applied_before_it_is_dropped():
    # orientation 6: the camera held upright, the pixels stored rotated: shown 32 wide, 64 high
    clean = photos.clean(_jpeg_with_gps((64, 32), orientation=6))
    assert (clean.width, clean.height) == (32, 64)
    assert len(Image.open(io.BytesIO(clean.data)).getexif()) == 0


def test_png_text_and_xmp_chunks_are_dropped():
    clean = photos.clean(_png(text=True))
    assert clean.content_type == "image/png"
    assert b"GPS" not in clean.data and b"tEXt" not in clean.data and b"iTXt" not in clean.data


def test_the_type_is_sniffed_from_the_bytes_not_the_name(client):
    # a PNG sent as .jpg / image/jpeg is stored as the PNG it is
    r = client.post(
        "/api/v1/public/complaints",
        data=_form(client, text="photo of the pond"),
        files=[("photos", ("pond.jpg", _png(), "image/jpeg"))],
    )
    assert r.status_code == 201, r.text
    # a GIF, an SVG and a text file named .jpg are refused, naming the photo
    for name, data in [
        ("a.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
        ("b.jpg", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>"),
        ("c.jpg", b"just text"),
    ]:
        r = client.post(
            "/api/v1/public/complaints",
            data=_form(client, text="x"),
            files=[("photos", (name, data, "image/jpeg"))],
        )
        assert r.status_code == 415, (name, r.text)
        assert r.json()["errors"][0]["field"] == "photos.0"


def test_a_broken_jpeg_is_refused():
    data = _jpeg_with_gps()
    with pytest.raises(photos.Problem) as exc:
        photos.clean(data[: len(data) // 2])
    assert exc.value.status == 422


def test_a_decompression_bomb_is_refused_before_decoding():
    # 10 000 × 10 000 one-bit pixels compress to a few kB and would decode to 100 million
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, "PNG")
    assert len(bomb.getvalue()) < 200_000
    t0 = time.perf_counter()
    with pytest.raises(photos.Problem) as exc:
        photos.clean(bomb.getvalue(), 2)
    assert exc.value.status == 422 and exc.value.errors[0]["field"] == "photos.2"
    assert "pixels" in exc.value.detail
    assert time.perf_counter() - t0 < 1.0  # refused from the header, not after decoding


def test_size_and_count_limits(client):
    big = b"\xff\xd8\xff" + b"\0" * photos.MAX_PHOTO_BYTES
    with pytest.raises(photos.Problem) as exc:
        photos.clean(big)
    assert exc.value.status == 413
    small = _png()
    r = client.post(
        "/api/v1/public/complaints",
        data=_form(client, text="six photos"),
        files=[("photos", (f"{i}.png", small, "image/png")) for i in range(6)],
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "photos"
    with pytest.raises(photos.Problem) as exc:
        photos.clean_all([b"\xff\xd8\xff" + b"\0" * (4 * 1024 * 1024)] * 4)  # 16 MiB together
    assert exc.value.status == 413
    # a body larger than the limit is refused before it is parsed
    r = client.post(
        "/api/v1/public/complaints",
        content=b"x" * 100,
        headers={"content-type": "multipart/form-data; boundary=b", "content-length": str(10**9)},
    )
    assert r.status_code == 413


def test_text_and_place_are_checked(client):
    cases = [
        ({"text": "  "}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"text": "x", "lon": "112.9"}, "lat"),
        ({"text": "x", "lon": "200", "lat": "27"}, "lon"),
        ({"text": "x", "lon": "east", "lat": "27"}, "lon"),
        ({"text": "x", "mine_id": "NO-SUCH"}, "mine_id"),
    ]
    for fields, field in cases:
        r = client.post("/api/v1/public/complaints", data=_form(client, **fields))
        assert r.status_code == 422, (fields, r.text)
        assert r.json()["errors"][0]["field"] == field


# ---------------------------------------------------------------------------- spam checks
def test_spam_checks(client):
    def post(**data: Any) -> Any:
        return client.post("/api/v1/public/complaints", data={"text": "x", **data})

    ch = client.get("/api/v1/public/complaints/challenge").json()
    assert ch["kind"] == "pow" and ch["bits"] == 6 and ch["honeypot"] == antispam.HONEYPOT
    nonce = antispam.solve(ch["challenge"])
    # the honeypot filled in
    r = post(challenge=ch["challenge"], nonce=nonce, website="http://spam.example")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "website"
    # no challenge, a forged one, a wrong nonce
    assert post().json()["errors"][0]["field"] == "challenge"
    forged = ch["challenge"][:-4] + "0000"
    assert post(challenge=forged, nonce=nonce).json()["errors"][0]["field"] == "challenge"
    wrong = next(str(n) for n in range(10_000) if antispam.work(ch["challenge"], str(n)) < 6)
    r = post(challenge=ch["challenge"], nonce=wrong)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "nonce"
    # solved: accepted once, then refused (one complaint per challenge)
    assert post(challenge=ch["challenge"], nonce=nonce).status_code == 201
    r = post(challenge=ch["challenge"], nonce=nonce)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "challenge"
    # the web form's challenge: refused when sent at once, accepted after the minimum fill time
    now = time.time()
    fresh = antispam.issue_form_challenge(SECRET, now=now)
    r = post(challenge=fresh)
    assert r.status_code == 422 and "too soon" in r.json()["detail"]
    filled = antispam.issue_form_challenge(SECRET, now=now - antispam.MIN_FILL_SECONDS - 1)
    assert post(challenge=filled).status_code == 201
    expired = antispam.issue_form_challenge(SECRET, now=now - antispam.CHALLENGE_TTL - 1)
    assert "expired" in post(challenge=expired).json()["detail"]


def test_the_rate_limit_counts_by_keyed_address(store_url, tmp_path):
    from restora.service.app import create_app
    from restora.service.settings import Settings

    app = create_app(
        Settings(
            database_url=store_url,
            secret_key=SECRET,
            secret_key_from_env=True,
            data_dir=tmp_path,
            public_rate_per_hour=2,
            public_pow_bits=4,
        )
    )
    with TestClient(app, client=("203.0.113.7", 5000)) as c:
        for _ in range(2):
            assert c.post("/api/v1/public/complaints", data=_form(c, text="x")).status_code == 201
        r = c.post("/api/v1/public/complaints", data=_form(c, text="x"))
        assert r.status_code == 429 and r.json()["type"] == "/problems/rate-limited"
        assert 3590 <= int(r.headers["retry-after"]) <= 3600
    with TestClient(app, client=("203.0.113.8", 5000)) as other:  # another address: its own count
        assert (
            other.post("/api/v1/public/complaints", data=_form(other, text="x")).status_code == 201
        )
    with app.state.store.engine.connect() as conn:
        hashes = [r[0] for r in conn.execute(sa.select(complaints.c.client_sha256))]
        text = " ".join(str(v) for row in conn.execute(sa.select(complaints)) for v in row)
    assert "203.0.113" not in text  # the address itself is never stored
    assert len(hashes[0]) == 64


# ------------------------------------------------------------------------------ following
def test_following_a_complaint_by_its_receipt(client):
    r = client.post(
        "/api/v1/public/complaints",
        data=_form(client, text="私人电话 13800000000：塌陷区积水", lon="112.98", lat="27.59"),
    )
    receipt = r.json()["receipt"]
    # typed loosely (lower case, no hyphens, O for 0): the same complaint
    loose = receipt.replace("-", "").lower().replace("0", "o")
    body = client.get(f"/api/v1/public/complaints/{loose}").json()
    assert body["receipt"] == receipt and body["status"] == "received"
    assert "13800000000" not in str(body) and "text" not in body  # never the text back
    keys = set(body) | {k for e in body["events"] for k in e}
    assert keys <= PUBLIC_FIELDS["complaint"] and not keys & NEVER_PUBLIC
    # 60 days (信访工作条例 art. 34, refdata complaints/answer-deadline)
    created = dt.datetime.fromisoformat(body["created_at"])
    assert dt.datetime.fromisoformat(body["due_at"]) - created == dt.timedelta(days=60)
    assert "第三十四条" in body["deadline_basis"] and body["overdue"] is False
    # a typo is caught by the check character (422 naming the field); an unknown one is 404
    typo = receipt[:-1] + ("0" if receipt[-1] != "0" else "1")
    r = client.get(f"/api/v1/public/complaints/{typo}")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "receipt"
    other = D.new_receipt()
    assert client.get(f"/api/v1/public/complaints/{other}").status_code == 404


def test_the_receipt_check_character_catches_every_single_typo():
    receipt = D.new_receipt().replace("-", "")
    for i in range(len(receipt)):
        for ch in D.CROCKFORD:
            if ch != receipt[i]:
                typo = receipt[:i] + ch + receipt[i + 1 :]
                with pytest.raises(ValueError, match="typo"):
                    D.normalise_receipt(typo)
    # adjacent swaps too, but for 0 <-> V (Luhn's blind spot: 0 and N - 1)
    for i in range(len(receipt) - 1):
        a, b = receipt[i], receipt[i + 1]
        if a != b and {a, b} != {"0", "V"}:
            with pytest.raises(ValueError):
                D.normalise_receipt(receipt[:i] + b + a + receipt[i + 2 :])


# ------------------------------------------------------------------------ the bureau's side
def _people(app: Any) -> tuple[int, int, int]:
    now = dt.datetime.now(dt.UTC)
    with app.state.store.engine.begin() as conn:
        bureau = conn.execute(
            organisations.insert()
            .values(
                name="青山县自然资源局",
                kind="natural_resources",
                region_code="430599",
                created_at=now,
            )
            .returning(organisations.c.id)
        ).scalar_one()
        other = conn.execute(
            organisations.insert()
            .values(
                name="别县自然资源局",
                kind="natural_resources",
                region_code="430521",
                created_at=now,
            )
            .returning(organisations.c.id)
        ).scalar_one()
        officer = conn.execute(
            users.insert()
            .values(
                username="qs-officer",
                display_name="王科长",
                role="natural_resources",
                org_id=bureau,
                region_code="430599",
                active=True,
                created_at=now,
            )
            .returning(users.c.id)
        ).scalar_one()
    return bureau, other, officer


def test_the_bureau_assigns_answers_and_closes(client, app, as_role):
    bureau, other, officer = _people(app)
    nr = Principal(
        role="natural_resources", user_id=officer, username="qs-officer", region="430599"
    )
    as_role(None)
    receipt = client.post(
        "/api/v1/public/complaints", data=_form(client, text="尾矿库渗漏", mine_id="QS-M10")
    ).json()["receipt"]
    as_role(nr)
    listed = client.get("/api/v1/complaints", params={"status": "received", "limit": 500}).json()
    item = next(i for i in listed["items"] if i["receipt"] == receipt)
    cid = item["id"]
    assert item["region_code"] == "430599" and "client_sha256" not in item
    # assign: a user of another organisation is refused, naming the field
    r = client.post(f"/api/v1/complaints/{cid}/assign", json={"org_id": other, "user_id": officer})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "user_id"
    r = client.post(
        f"/api/v1/complaints/{cid}/assign", json={"user_id": officer, "note": "现场核查"}
    )
    assert r.status_code == 200 and r.json()["assigned_org_id"] == bureau
    # closing before answering is refused; extend once with a reason: +30 days
    assert client.post(f"/api/v1/complaints/{cid}/close", json={}).status_code == 422
    due = dt.datetime.fromisoformat(r.json()["due_at"])
    r = client.post(f"/api/v1/complaints/{cid}/extend", json={"reason": "需委托检测"})
    assert dt.datetime.fromisoformat(r.json()["due_at"]) - due == dt.timedelta(days=30)
    r = client.post(f"/api/v1/complaints/{cid}/extend", json={"reason": "again"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = client.post(f"/api/v1/complaints/{cid}/answer", json={"answer": "已封堵渗漏点，并复测。"})
    body = r.json()
    assert body["status"] == "answered" and body["answered_by"] == officer
    r = client.post(f"/api/v1/complaints/{cid}/close", json={"note": "complainant informed"})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    events = r.json()["events"]
    assert [e["action"] for e in events] == ["filed", "assigned", "extended", "answered", "closed"]
    assert all(e["username"] == "qs-officer" for e in events[1:]) and events[0]["user_id"] is None
    # the public sees the answer, the extension's reason and the steps, not who
    as_role(None)
    public = client.get(f"/api/v1/public/complaints/{receipt}").json()
    assert (
        public["answer"] == "已封堵渗漏点，并复测。" and public["extension_reason"] == "需委托检测"
    )
    assert public["deadline_basis"].endswith("60 d + 30 d")
    assert [e["action"] for e in public["events"]] == [e["action"] for e in events]
    assert "qs-officer" not in str(public) and "王科长" not in str(public)
    # every step is in the audit trail with the account
    with app.state.store.engine.connect() as conn:
        trail = conn.execute(
            sa.text(
                "SELECT c.user_id, a.action FROM audit a JOIN changes c ON c.id = a.change_id "
                "WHERE a.table_name = 'complaints' AND a.record_id = :id ORDER BY a.id"
            ),
            {"id": str(cid)},
        ).all()
    assert [t[1] for t in trail] == ["insert", "update", "update", "update", "update"]
    assert [t[0] for t in trail] == [None, officer, officer, officer, officer]


def test_the_history_is_append_only(app):
    with app.state.store.engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM complaint_events")).scalar_one()
    assert n > 0
    for sql in ("UPDATE complaint_events SET note = 'x'", "DELETE FROM complaint_events"):
        with (
            pytest.raises(sa.exc.DBAPIError, match="append-only"),
            app.state.store.engine.begin() as conn,
        ):
            conn.exec_driver_sql(sql)


def test_overdue_complaints_are_flagged(client, app, as_role):
    filed = dt.datetime.now(dt.UTC) - dt.timedelta(days=61)
    old = D.file_complaint(
        app.state.store.engine,
        text="an old complaint",
        lon=None,
        lat=None,
        mine_id="QS-M10",
        region_code="430599",
        client_sha256="f" * 64,
        token_sha256=None,
        photos=[],
        limit_per_hour=5,
        change=Change(command="test", user="test"),
        now=filed,
    )
    assert old["due_at"] == filed + dt.timedelta(days=60)
    as_role(NR)
    late = client.get("/api/v1/complaints", params={"overdue": True, "limit": 500}).json()
    assert [i["id"] for i in late["items"]] == [old["id"]]
    assert late["items"][0]["overdue"] is True and late["items"][0]["days_left"] < 0
    on_time = client.get("/api/v1/complaints", params={"overdue": False, "limit": 500}).json()
    assert old["id"] not in [i["id"] for i in on_time["items"]]
    as_role(None)
    assert client.get(f"/api/v1/public/complaints/{old['receipt']}").json()["overdue"] is True


def test_region_scope_of_the_bureau_side(client, as_role):
    as_role(None)
    assert client.get("/api/v1/complaints").status_code == 401
    receipt = client.post(
        "/api/v1/public/complaints", data=_form(client, text="x", mine_id="QS-M09")
    ).json()["receipt"]
    as_role(NR)
    cid = next(
        i["id"]
        for i in client.get("/api/v1/complaints", params={"limit": 500}).json()["items"]
        if i["receipt"] == receipt
    )
    as_role(ECO_OTHER)  # another county's bureau: nothing to see, nothing to handle
    assert all(i["receipt"] != receipt for i in client.get("/api/v1/complaints").json()["items"])
    assert client.get(f"/api/v1/complaints/{cid}").status_code == 404
    r = client.post(f"/api/v1/complaints/{cid}/answer", json={"answer": "x"})
    assert r.status_code == 404


def test_a_place_without_mine_goes_to_the_nearest_mines_region(client, app, as_role):
    # a point inside the demo county (QS-M09's sites are around 112.98 E, 27.60 N) and one
    # in the South China Sea, far from any mine
    near = client.post(
        "/api/v1/public/complaints", data=_form(client, text="near", lon="112.99", lat="27.60")
    ).json()["receipt"]
    far = client.post(
        "/api/v1/public/complaints", data=_form(client, text="far", lon="115.0", lat="15.0")
    ).json()["receipt"]
    with app.state.store.engine.connect() as conn:
        region = dict(conn.execute(sa.select(complaints.c.receipt, complaints.c.region_code)).all())
    assert region[near] == "430599" and region[far] is None
    as_role(NR)  # a county scope does not see the complaint of no region
    ids = [
        i["receipt"]
        for i in client.get("/api/v1/complaints", params={"limit": 500}).json()["items"]
    ]
    assert near in ids and far not in ids
