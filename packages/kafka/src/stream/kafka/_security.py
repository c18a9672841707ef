"""How the broker authenticates and encrypts: TLS, SASL PLAIN and SASL SCRAM.

Each class maps itself onto aiokafka's client settings (``security_protocol``,
``sasl_mechanism``, ``sasl_plain_username``/``password``, ``ssl_context``) and onto an
AsyncAPI security scheme for documentation; :func:`security_kwargs` is what the broker
hands to every aiokafka client it creates.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = (
    "TLS",
    "SASLPlain",
    "SASLScram256",
    "SASLScram512",
    "Security",
    "security_kwargs",
)


@dataclass(frozen=True, kw_only=True)
class Security:
    """Base class of the security settings a :class:`KafkaBroker` accepts."""

    def client_kwargs(self) -> dict[str, Any]:
        """aiokafka client keyword arguments for these settings."""
        raise NotImplementedError

    def scheme(self) -> Mapping[str, Any] | None:
        """The AsyncAPI security scheme, or ``None`` when there is nothing to declare."""
        return None

    @property
    def encrypted(self) -> bool:
        """Whether the connection uses TLS."""
        return False


@dataclass(frozen=True, kw_only=True)
class TLS(Security):
    """TLS, optionally with a client certificate (mutual TLS).

    Give either a ready ``ssl_context`` or the files to build one from; with neither,
    the system's trusted CAs verify the broker.

    Attributes:
        ssl_context: A context to use as it is.
        cafile: CA bundle that signed the broker's certificate.
        certfile: Client certificate (PEM), for mutual TLS.
        keyfile: The client certificate's private key (PEM).
        password: The private key's password.
        check_hostname: Verify that the broker's certificate names the host.
    """

    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    password: str | None = field(default=None, repr=False)
    check_hostname: bool = True

    def __post_init__(self) -> None:
        if self.ssl_context is not None and (self.cafile or self.certfile or self.keyfile):
            raise ValueError("TLS: give either ssl_context or cafile/certfile/keyfile, not both")
        if self.keyfile is not None and self.certfile is None:
            raise ValueError("TLS(keyfile=...) needs certfile= too: the key's certificate")

    def context(self) -> ssl.SSLContext:
        """The SSL context: the given one, or one built from the files."""
        if self.ssl_context is not None:
            return self.ssl_context
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.cafile)
        context.check_hostname = self.check_hostname
        if self.certfile is not None:
            context.load_cert_chain(self.certfile, self.keyfile, self.password)
        return context

    def client_kwargs(self) -> dict[str, Any]:
        """``security_protocol="SSL"`` and the context."""
        return {"security_protocol": "SSL", "ssl_context": self.context()}

    def scheme(self) -> Mapping[str, Any] | None:
        """``X509`` when a client certificate authenticates; plain TLS declares nothing."""
        return {"type": "X509"} if self.certfile is not None else None

    @property
    def encrypted(self) -> bool:
        """Always: this is TLS."""
        return True


@dataclass(frozen=True, kw_only=True)
class _SASL(Security):
    """Username and password over SASL, in plaintext or inside TLS."""

    mechanism: ClassVar[str]
    asyncapi_type: ClassVar[str]

    username: str
    password: str = field(repr=False)
    tls: TLS | None = None

    def client_kwargs(self) -> dict[str, Any]:
        """``SASL_SSL`` with ``tls``, else ``SASL_PLAINTEXT``, with the credentials."""
        kwargs: dict[str, Any] = {
            "security_protocol": "SASL_PLAINTEXT" if self.tls is None else "SASL_SSL",
            "sasl_mechanism": self.mechanism,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
        }
        if self.tls is not None:
            kwargs["ssl_context"] = self.tls.context()
        return kwargs

    def scheme(self) -> Mapping[str, Any] | None:
        """The AsyncAPI scheme of the mechanism."""
        return {"type": self.asyncapi_type}

    @property
    def encrypted(self) -> bool:
        """Whether ``tls`` is set."""
        return self.tls is not None


@dataclass(frozen=True, kw_only=True)
class SASLPlain(_SASL):
    """SASL PLAIN: the password travels as it is, so use it inside TLS (``tls=TLS()``).

    Attributes:
        username: The user.
        password: The password.
        tls: TLS settings, or ``None`` for a plaintext connection.
    """

    mechanism: ClassVar[str] = "PLAIN"
    asyncapi_type: ClassVar[str] = "plain"


@dataclass(frozen=True, kw_only=True)
class SASLScram256(_SASL):
    """SASL SCRAM-SHA-256.

    Attributes:
        username: The user.
        password: The password.
        tls: TLS settings, or ``None`` for a plaintext connection.
    """

    mechanism: ClassVar[str] = "SCRAM-SHA-256"
    asyncapi_type: ClassVar[str] = "scramSha256"


@dataclass(frozen=True, kw_only=True)
class SASLScram512(_SASL):
    """SASL SCRAM-SHA-512.

    Attributes:
        username: The user.
        password: The password.
        tls: TLS settings, or ``None`` for a plaintext connection.
    """

    mechanism: ClassVar[str] = "SCRAM-SHA-512"
    asyncapi_type: ClassVar[str] = "scramSha512"


def security_kwargs(security: Security | None) -> dict[str, Any]:
    """The aiokafka client keyword arguments for ``security`` (``None``: plaintext)."""
    if security is None:
        return {"security_protocol": "PLAINTEXT"}
    return security.client_kwargs()
