"""`quantdesk stress`: scenarios (price shocks, confidence spikes, illiquid liquidations) applied
to every margin account of a venue snapshot with the health mirror; which accounts become
liquidatable or bankrupt, the shortfall against the insurance fund and the largest contributors.

- scenario.py: the scenario format (TOML), its validation and the built-in defaults;
- engine.py: the scenarios applied to a VenueView (keeper/view.py);
- table.py: the terminal tables; page.py: the HTML report with its plots and stress.json;
- command.py: the command (an RPC snapshot, the run, the output)."""
