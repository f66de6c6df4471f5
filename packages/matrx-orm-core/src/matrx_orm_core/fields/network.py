"""Network address fields: IPAddressField (inet), IPNetworkField (cidr), MacAddressField."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from .base import Field

__all__ = ["IPAddressField", "IPNetworkField", "IPv4Field", "IPv6Field", "MacAddressField"]

_ADDRESSES = (ipaddress.IPv4Address, ipaddress.IPv6Address)
_INTERFACES = (ipaddress.IPv4Interface, ipaddress.IPv6Interface)
_NETWORKS = (ipaddress.IPv4Network, ipaddress.IPv6Network)


def _scoped(value: Any) -> bool:
    return isinstance(value, ipaddress.IPv6Address) and value.scope_id is not None


class IPAddressField(Field[Any]):
    """A host address, optionally with its network prefix: PostgreSQL ``inet``.

    The Python value is an ``IPv4Address``/``IPv6Address``, or an ``IPv4Interface``/
    ``IPv6Interface`` when a prefix shorter than the full length is given (``"10.0.0.5/24"``),
    which is what the database gives back. Accepts text and ``ipaddress`` objects (a network
    becomes an interface on its network address). IPv6 zone ids (``fe80::1%eth0``) are rejected:
    ``inet`` cannot store them.
    """

    _python_type = object
    _default_db_type = "inet"

    def to_python(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, _INTERFACES):
            result: Any = value
        elif isinstance(value, _ADDRESSES):
            result = value
        elif isinstance(value, _NETWORKS):
            result = ipaddress.ip_interface(str(value))
        elif isinstance(value, str):
            text = value.strip()
            try:
                result = ipaddress.ip_interface(text) if "/" in text else ipaddress.ip_address(text)
            except ValueError as err:
                raise self._invalid(
                    value,
                    "the text is not an IPv4 or IPv6 address",
                    "Pass e.g. '192.0.2.1', '2001:db8::1' or '10.0.0.5/24'.",
                ) from err
        else:
            raise self._type_error(value, "an IP address str or an ipaddress object")
        if isinstance(result, _INTERFACES):
            if result.network.prefixlen == result.max_prefixlen:
                result = result.ip
            elif _scoped(result.ip):
                raise self._scope_error(value)
        if _scoped(result):
            raise self._scope_error(value)
        return result

    def _scope_error(self, value: Any) -> Exception:
        return self._invalid(
            value,
            "the IPv6 address has a zone id (%...), which inet cannot store",
            "Remove the '%zone' suffix.",
        )


class IPNetworkField(Field[Any]):
    """A network: PostgreSQL ``cidr``, Python ``IPv4Network``/``IPv6Network``.

    Accepts text and ``ipaddress`` network objects (an address is a network of one host). Host
    bits set to the right of the prefix (``"10.0.0.5/24"``) are rejected, as PostgreSQL rejects
    them: give the network address (``"10.0.0.0/24"``).
    """

    _python_type = object
    _default_db_type = "cidr"

    def to_python(self, value: Any) -> Any:
        if value is None or type(value) in _NETWORKS:
            return value
        if isinstance(value, _NETWORKS):
            return ipaddress.ip_network(str(value))
        if isinstance(value, _INTERFACES):
            text = str(value)
        elif isinstance(value, _ADDRESSES):
            if _scoped(value):
                raise self._invalid(
                    value, "the IPv6 address has a zone id (%...)", "Remove the '%zone' suffix."
                )
            return ipaddress.ip_network(value)
        elif isinstance(value, str):
            text = value.strip()
        else:
            raise self._type_error(value, "a network str or an ipaddress network")
        try:
            return ipaddress.ip_network(text)
        except ValueError as err:
            problem = (
                "the network has host bits set to the right of the prefix"
                if "has host bits set" in str(err)
                else "the text is not an IPv4 or IPv6 network"
            )
            raise self._invalid(
                value,
                problem,
                "Pass the network address with its prefix, e.g. '10.0.0.0/24' or '2001:db8::/32'.",
            ) from err


class IPv4Field(IPAddressField):
    """An ``inet`` column holding IPv4 values only (an IPv6 value raises ``ValidationError``)."""

    version = 4

    def _check(self, value: Any) -> None:
        if value.version != self.version:
            raise self._invalid(
                value,
                f"expected an IPv{self.version} address, got IPv{value.version}",
                f"Pass an IPv{self.version} address, or use IPAddressField for both.",
            )


class IPv6Field(IPv4Field):
    """An ``inet`` column holding IPv6 values only (an IPv4 value raises ``ValidationError``)."""

    version = 6


_MAC_FORMS = re.compile(
    r"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}"
    r"|[0-9A-Fa-f]{6}[:-][0-9A-Fa-f]{6}"
    r"|[0-9A-Fa-f]{4}([.-])[0-9A-Fa-f]{4}\2[0-9A-Fa-f]{4}"
    r"|[0-9A-Fa-f]{12}"
)
"""The ``macaddr`` input forms PostgreSQL accepts (six, three, two or one group of digits)."""


class MacAddressField(Field[str]):
    """A MAC address: PostgreSQL ``macaddr``, Python ``str`` in lower-case colon form.

    Accepts the spellings PostgreSQL accepts (``08:00:2B:01:02:03``, ``08-00-2b-01-02-03``,
    ``08002b:010203``, ``0800.2b01.0203``, ``08002b010203``) and returns
    ``"08:00:2b:01:02:03"``, as the database does.
    """

    _python_type = str
    _default_db_type = "macaddr"

    def to_python(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._type_error(value, "a MAC address str")
        text = value.strip()
        if not _MAC_FORMS.fullmatch(text):
            raise self._invalid(
                value,
                "the text is not a MAC address",
                "Pass six hex pairs such as '08:00:2b:01:02:03'.",
            )
        digits = re.sub(r"[^0-9A-Fa-f]", "", text).lower()
        return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
