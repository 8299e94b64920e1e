"""Unit costs, life-cycle cost, uncertainty, the mine restoration fund."""
