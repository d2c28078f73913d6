"""The indexer: follows the five programs over RPC and keeps every event in the store
(quantdesk/indexer/schema.py), hash-chained by quantdesk/audit."""
