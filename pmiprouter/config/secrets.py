"""Cisco password hashes: type 5 (MD5-crypt), 8 (PBKDF2-SHA256) and 9 (scrypt).

Pure module, stdlib only (hashlib, os for the salt). Clear-text passwords (type 0) are
hashed to type 9 on entry; only hashes are ever stored or printed.

Formats (as produced by IOS and by the community tools `cisco-hashgen`):
  type 5  `$1$SALT$HASH`   MD5-crypt (FreeBSD/Poul-Henning Kamp), salt up to 8 chars
  type 8  `$8$SALT$HASH`   PBKDF2-HMAC-SHA256, 20000 iterations, 14-char salt, 32 bytes
  type 9  `$9$SALT$HASH`   scrypt N=16384 r=1 p=1, 14-char salt, 32 bytes
Types 8 and 9 encode with base64 over Cisco's alphabet `./0-9A-Za-z`, no padding.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from pmiprouter.config.model import Secret

_CISCO64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
_STD64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
_TO_CISCO = str.maketrans(_STD64, _CISCO64)

_FORMATS = {
    5: re.compile(r'\$1\$[./0-9A-Za-z]{1,8}\$[./0-9A-Za-z]{22}'),
    8: re.compile(r'\$8\$[./0-9A-Za-z]{14}\$[./0-9A-Za-z]{43}'),
    9: re.compile(r'\$9\$[./0-9A-Za-z]{14}\$[./0-9A-Za-z]{43}'),
}


class SecretError(ValueError):
    """A hash that does not have the shape of its declared type."""


def _cisco_b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip('=').translate(_TO_CISCO)


def _salt(length: int) -> str:
    return ''.join(_CISCO64[b % 64] for b in os.urandom(length))


def _scrypt(password: str, salt: str) -> str:
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=16384, r=1, p=1, dklen=32)
    return f'$9${salt}${_cisco_b64(digest)}'


def _pbkdf2(password: str, salt: str) -> str:
    digest = hashlib.pbkdf2_hmac('sha256', password.encode(), salt.encode(), 20000, 32)
    return f'$8${salt}${_cisco_b64(digest)}'


def md5_crypt(password: str, salt: str) -> str:
    """MD5-crypt (`$1$`), the algorithm behind Cisco type 5, written out from its spec."""
    pw, salt_b, magic = password.encode(), salt[:8].encode(), b'$1$'
    alt = hashlib.md5(pw + salt_b + pw).digest()
    ctx = pw + magic + salt_b
    n = len(pw)
    while n > 0:
        ctx += alt[: min(16, n)]
        n -= 16
    i = len(pw)
    while i:
        ctx += b'\0' if i & 1 else pw[:1]
        i >>= 1
    final = hashlib.md5(ctx).digest()
    # 1000 rounds, deliberately slow (this is the whole point of the original design).
    for r in range(1000):
        round_input = pw if r & 1 else final
        if r % 3:
            round_input += salt_b
        if r % 7:
            round_input += pw
        round_input += final if r & 1 else pw
        final = hashlib.md5(round_input).digest()
    out = ''
    for a, b, c in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)):
        v = (final[a] << 16) | (final[b] << 8) | final[c]
        for _ in range(4):
            out += _CISCO64[v & 0x3F]
            v >>= 6
    v = final[11]
    for _ in range(2):
        out += _CISCO64[v & 0x3F]
        v >>= 6
    return f'$1${salt[:8]}${out}'


def hash_password(password: str) -> Secret:
    """Hash a clear-text password as type 9 (scrypt) with a fresh salt."""
    return Secret(9, _scrypt(password, _salt(14)))


def check_hash(secret_type: int, text: str) -> Secret:
    """Validate an already-hashed secret of type 5, 8 or 9.

    Raises:
        SecretError: unknown type or a hash that does not have the type's shape.
    """
    pattern = _FORMATS.get(secret_type)
    if pattern is None or not pattern.fullmatch(text):
        raise SecretError(f'Invalid type {secret_type} secret')
    return Secret(secret_type, text)


def verify(secret: Secret, password: str) -> bool:
    """Whether `password` matches the stored hash (constant-time comparison)."""
    parts = secret.hash.split('$')
    if len(parts) != 4:
        return False
    salt = parts[2]
    if secret.type == 9:
        candidate = _scrypt(password, salt)
    elif secret.type == 8:
        candidate = _pbkdf2(password, salt)
    elif secret.type == 5:
        candidate = md5_crypt(password, salt)
    else:
        return False
    return hmac.compare_digest(candidate, secret.hash)
