"""Orders and picking: the pure domain.

Orders arrive from several channels (``intake``, ``importer``), stock is reserved
per line across locations in walk order (``allocation``), reviewed by rules
(``review``), picked in batched walks with scan validation (``picking``), packed,
printed, handed over, cancelled or returned (``fulfilment``). ``sla`` raises
alerts for orders waiting too long; ``analytics`` measures pickers and states.

Every function takes an open connection (inside ``Database.write()`` for
changes) and never commits. Stock only changes through ``hub.inventory.ledger.post``
(``reserve`` / ``release`` / ``pick`` / ``return`` / ``writeoff``); every fact
goes to the outbox and every state change to the audit log.
"""
