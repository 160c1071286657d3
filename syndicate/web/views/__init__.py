"""One blueprint per page (feeds, deliveries, entries, accounts) and one for the machine
endpoints (health, WebSub callback, metrics). Each view parses input, calls `service` or a
read query, and renders; nothing here decides anything."""
