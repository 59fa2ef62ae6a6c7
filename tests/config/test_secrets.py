"""Cisco password hashes: published vectors for types 5, 8 and 9, and shape checks."""

from __future__ import annotations

import pytest

from pmiprouter.config.model import Secret
from pmiprouter.config.secrets import SecretError, check_hash, hash_password, md5_crypt, verify

# Type 8 and 9 hashes of "cisco" as published in Cisco examples; type 5 from `openssl passwd -1`.
TYPE9_CISCO = '$9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM'
TYPE8_CISCO = '$8$dsYGNam3K1SIJO$7nv/35M/qr6t.dVc7UY9zrJDWRVqncHub1PE9UlMQFs'
TYPE5_PASSWORD = '$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/'


def test_md5_crypt_matches_openssl() -> None:
    """MD5-crypt agrees with `openssl passwd -1` on two vectors."""
    assert md5_crypt('password', 'saltsalt') == TYPE5_PASSWORD
    assert md5_crypt('hello world', 'abc') == '$1$abc$vEg1.ZEkkuk/fpExKa3yT0'


@pytest.mark.parametrize(
    ('secret', 'password'),
    [(Secret(9, TYPE9_CISCO), 'cisco'), (Secret(8, TYPE8_CISCO), 'cisco'), (Secret(5, TYPE5_PASSWORD), 'password')],
)
def test_published_hashes_verify(secret: Secret, password: str) -> None:
    """Hashes made by IOS / openssl verify with the right password only."""
    assert verify(secret, password)
    assert not verify(secret, password + 'x')


def test_clear_text_is_hashed_as_type_9_with_fresh_salt() -> None:
    """hash_password gives a type 9 hash that verifies, salted differently each time."""
    first, second = hash_password('s3cret'), hash_password('s3cret')
    assert first.type == 9 and first.hash.startswith('$9$') and check_hash(9, first.hash) == first
    assert first.hash != second.hash
    assert verify(first, 's3cret') and verify(second, 's3cret')


@pytest.mark.parametrize(('secret_type', 'text'), [(9, TYPE8_CISCO), (8, 'abc'), (5, '$1$x$short'), (7, TYPE9_CISCO)])
def test_malformed_or_unsupported_hashes_are_refused(secret_type: int, text: str) -> None:
    """A hash without its type's shape, or type 7, is refused."""
    with pytest.raises(SecretError):
        check_hash(secret_type, text)
