"""CPython speed techniques, fenced in one package (ADR 0013).

The domain modules (``mh``, ``core``, ``dataplane``, ``runtime``...) should read like the RFCs
they implement. What they do per message for speed alone -- generated constructors, positional
construction through ``tuple.__new__``, switching an object's class, tables keyed by ``id()``,
reads of ``ipaddress`` internals, JSON text spliced by hand -- lives here instead, each module
with a reference-model test (the fast thing equals the plain thing on generated inputs) and
``tests/test_fence.py`` failing when such a technique appears anywhere else.

- `frozen`: ``quick_init``, a cheaper ``__init__`` for frozen, slotted dataclasses.
- `by_identity`: ``ByIdentity``, a value derived once per key object.
- `bounded`: ``Bounded``, a value computed once per key, in a table that starts over at its bound.
- `positional`: ``positional(cls)``, a named tuple built from one tuple of all its fields.
- `slotted`: ``slot_builder(cls)``, a frozen slotted dataclass filled without its ``__init__``.
- `netaddr`: prefix and address types and reads that rely on ``ipaddress``'s internals.
- `rows`: the binding row's JSON text, written directly.
"""
