"""Evidence files (照片、文件): stored content-addressed by sha256, referenced from events as
`EvidenceRef(ref="sha256:<hex>", name=...)`. A local folder by default; an S3-compatible store by
configuration. Thumbnails of images are made with Pillow and cached beside the original.

Only the workbench reads the store, and it serves a file only to a person who may see a problem
that references it (checked with the person's own token against the services).

Evidence belongs to whoever uploaded it: the store records the uploader's scope (`unit:<id>`,
`team:<id>`, `helper:<id>`, `office`) as the file's owners, and a file is served through a problem
only if one of its owners is a party to that problem (its unit, its team, an assigned helper
department, the office). So knowing another unit's file hash and attaching it to one's own
problem gets nothing."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ducha.contracts.base import Actor, Role

from .settings import WebSettings

HEX = re.compile(r"^[0-9a-f]{64}$")
THUMB_SIZE = (320, 240)
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"}


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    name: str
    content_type: str
    size: int

    @property
    def ref(self) -> str:
        return f"sha256:{self.sha256}"

    @property
    def is_image(self) -> bool:
        return self.content_type in IMAGE_TYPES


OFFICE_SCOPE = "office"


def owner_scope(actor: Actor) -> str:
    """The scope a file uploaded by `actor` belongs to."""
    if actor.role in (Role.UNIT, Role.HELPER, Role.TEAM):
        return f"{actor.role.value}:{actor.unit_id if actor.role != Role.TEAM else actor.team_id}"
    return OFFICE_SCOPE


def problem_parties(unit_id: str, team_id: str | None, helper_ids: set[str]) -> set[str]:
    """The scopes whose files a problem may carry."""
    parties = {OFFICE_SCOPE, f"unit:{unit_id}"} | {f"helper:{h}" for h in helper_ids}
    if team_id:
        parties.add(f"team:{team_id}")
    return parties


def owners_of(meta: dict[str, str]) -> set[str]:
    return {o for o in meta.get("owners", "").split(",") if o}


def parse_ref(ref: str) -> str | None:
    if ref.startswith("sha256:") and HEX.match(ref[7:]):
        return ref[7:]
    return None


class EvidenceStore(Protocol):
    async def put(self, data: bytes, name: str, content_type: str, owner: str) -> StoredFile: ...
    async def get(self, sha256: str) -> tuple[bytes, dict[str, str]] | None: ...
    async def owners(self, sha256: str) -> set[str]: ...
    async def thumbnail(self, sha256: str) -> bytes | None: ...


def make_thumbnail(data: bytes) -> bytes | None:
    try:
        from PIL import Image, ImageOps

        with Image.open(io.BytesIO(data)) as opened:
            img: Image.Image = ImageOps.exif_transpose(opened) or opened
            img.thumbnail(THUMB_SIZE)
            if img.mode not in ("RGB", "L"):
                img = img.convert("RGB")
            out = io.BytesIO()
            img.save(out, "JPEG", quality=80)
            return out.getvalue()
    except Exception:  # noqa: BLE001 - not an image Pillow can read: no thumbnail
        return None


def _meta(name: str, content_type: str, size: int, owners: set[str]) -> dict[str, str]:
    return {"name": name[:200], "content_type": content_type or "application/octet-stream", "size": str(size),
            "owners": ",".join(sorted(owners))}


class LocalEvidenceStore:
    """<dir>/ab/cd/<sha256> plus <sha256>.json (name, type) and <sha256>.thumb.jpg."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha: str) -> Path:
        return self.root / sha[:2] / sha[2:4] / sha

    async def put(self, data: bytes, name: str, content_type: str, owner: str) -> StoredFile:
        sha = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(self._write, sha, data, _meta(name, content_type, len(data), {owner}))
        return StoredFile(sha, name, content_type, len(data))

    async def owners(self, sha256: str) -> set[str]:
        if not HEX.match(sha256):
            return set()
        meta_path = self._path(sha256).with_suffix(".json")
        text = await asyncio.to_thread(lambda: meta_path.read_text() if meta_path.exists() else "{}")
        return owners_of(json.loads(text))

    def _write(self, sha: str, data: bytes, meta: dict[str, str]) -> None:
        path = self._path(sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():  # same content, same file: written once, atomically
            fd, tmp = tempfile.mkstemp(dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        meta_path = path.with_suffix(".json")
        if meta_path.exists():  # the same content uploaded again, maybe by another scope: one more owner
            old = json.loads(meta_path.read_text())
            owners = owners_of(old) | owners_of(meta)
            if owners == owners_of(old):
                return
            meta = {**old, "owners": ",".join(sorted(owners))}
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(meta, ensure_ascii=False))
        os.replace(tmp, meta_path)

    async def get(self, sha256: str) -> tuple[bytes, dict[str, str]] | None:
        if not HEX.match(sha256):
            return None
        return await asyncio.to_thread(self._read, sha256)

    def _read(self, sha: str) -> tuple[bytes, dict[str, str]] | None:
        path = self._path(sha)
        if not path.exists():
            return None
        meta_path = path.with_suffix(".json")
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        return path.read_bytes(), meta

    async def thumbnail(self, sha256: str) -> bytes | None:
        if not HEX.match(sha256):
            return None
        return await asyncio.to_thread(self._thumb, sha256)

    def _thumb(self, sha: str) -> bytes | None:
        path = self._path(sha)
        thumb = path.with_suffix(".thumb.jpg")
        if thumb.exists():
            return thumb.read_bytes()
        if not path.exists():
            return None
        data = make_thumbnail(path.read_bytes())
        if data is not None:
            thumb.write_bytes(data)
        return data


class S3EvidenceStore:
    """An S3-compatible bucket (MinIO, Ceph RGW, a cloud's OSS/COS with S3 API) via boto3:
    objects `<prefix><sha256>` with the name and type as metadata, thumbnails `<prefix><sha256>.thumb.jpg`.
    boto3 is imported only when this store is configured (`pip install boto3`)."""

    def __init__(self, settings: WebSettings) -> None:
        try:
            import boto3
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise SystemExit("DUCHA_WEB_EVIDENCE_STORE=s3 needs boto3: pip install boto3") from exc
        self.bucket = str(settings.s3_bucket)
        self.prefix = settings.s3_prefix
        self.client = boto3.client(
            "s3", endpoint_url=settings.s3_endpoint, region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key, aws_secret_access_key=settings.s3_secret_key)

    async def put(self, data: bytes, name: str, content_type: str, owner: str) -> StoredFile:
        sha = hashlib.sha256(data).hexdigest()
        meta = _meta(name, content_type, len(data), await self.owners(sha) | {owner})
        from urllib.parse import quote

        await asyncio.to_thread(
            self.client.put_object, Bucket=self.bucket, Key=self.prefix + sha, Body=data,
            ContentType=meta["content_type"], Metadata={"name": quote(meta["name"]), "owners": meta["owners"]})
        return StoredFile(sha, name, content_type, len(data))

    async def owners(self, sha256: str) -> set[str]:
        if not HEX.match(sha256):
            return set()

        def head() -> set[str]:
            try:
                obj = self.client.head_object(Bucket=self.bucket, Key=self.prefix + sha256)
            except self.client.exceptions.ClientError:
                return set()
            return owners_of(dict(obj.get("Metadata", {})))

        return await asyncio.to_thread(head)

    async def get(self, sha256: str) -> tuple[bytes, dict[str, str]] | None:
        if not HEX.match(sha256):
            return None

        def fetch() -> tuple[bytes, dict[str, str]] | None:
            from urllib.parse import unquote

            try:
                obj = self.client.get_object(Bucket=self.bucket, Key=self.prefix + sha256)
            except self.client.exceptions.NoSuchKey:
                return None
            meta = {"content_type": obj.get("ContentType", "application/octet-stream"),
                    "name": unquote(obj.get("Metadata", {}).get("name", sha256))}
            return obj["Body"].read(), meta

        return await asyncio.to_thread(fetch)

    async def thumbnail(self, sha256: str) -> bytes | None:
        got = await self.get(sha256)
        if got is None:
            return None
        return await asyncio.to_thread(make_thumbnail, got[0])


def make_store(settings: WebSettings) -> EvidenceStore:
    if settings.evidence_store == "s3":
        return S3EvidenceStore(settings)
    return LocalEvidenceStore(settings.resolved_evidence_dir)
