"""The legacy-mine register: mines, sites, soil samples and hazards; their import and export."""
