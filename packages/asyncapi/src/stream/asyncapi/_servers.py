"""Ids for the servers and security schemes of a document, shared across its services."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stream.asyncapi._model import ServerModel, ServiceModel

__all__ = ("ServerIds", "server_ids")


@dataclass(slots=True)
class ServerIds:
    """The distinct servers and security schemes of some services, each with an id.

    Attributes:
        servers: Server id to server, in the order first met.
        schemes: Security scheme id to scheme, in the order first met.
    """

    servers: dict[str, ServerModel] = field(default_factory=dict)
    schemes: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def of_service(self, service: ServiceModel) -> list[str]:
        """The ids of the servers ``service`` connects to."""
        return [sid for sid, server in self.servers.items() if server in service.servers]

    def scheme_id(self, scheme: Mapping[str, Any]) -> str:
        """The id of a security scheme this collection holds."""
        return next(sid for sid, known in self.schemes.items() if known == scheme)


def server_ids(services: Sequence[ServiceModel]) -> ServerIds:
    """Gives each distinct server an id: its protocol, numbered when several share it
    (``kafka``, or ``kafka-1``, ``kafka-2``); each distinct security scheme is named by
    its type the same way (``scramSha512``)."""
    servers: list[ServerModel] = []
    schemes: list[Mapping[str, Any]] = []
    for service in services:
        for server in service.servers:
            if server not in servers:
                servers.append(server)
            schemes.extend(scheme for scheme in server.security if scheme not in schemes)
    return ServerIds(
        servers=dict(zip(_numbered([s.protocol for s in servers]), servers, strict=True)),
        schemes=dict(
            zip(_numbered([str(s.get("type", "security")) for s in schemes]), schemes, strict=True)
        ),
    )


def _numbered(names: Sequence[str]) -> list[str]:
    cleaned = [re.sub(r"[^\w.\-]+", "_", name, flags=re.ASCII) or "server" for name in names]
    counts = Counter(cleaned)
    seen: Counter[str] = Counter()
    numbered = []
    for name in cleaned:
        seen[name] += 1
        numbered.append(name if counts[name] == 1 else f"{name}-{seen[name]}")
    return numbered
