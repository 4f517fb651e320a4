"""Tables owned by core: master-key check values and wrapped data keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from carewall.core.db import Base, UTCDateTime, new_id


class KeyCheck(Base):
    """Fingerprint of each master-key version, to refuse starting with the wrong key."""

    __tablename__ = "key_checks"

    kek_version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    check_value: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DataKey(Base):
    """A data-encryption key, stored only wrapped by a master-key version."""

    __tablename__ = "data_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    purpose: Mapped[str] = mapped_column(String(64), unique=True)
    kek_version: Mapped[int] = mapped_column(Integer)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
