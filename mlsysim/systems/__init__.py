"""Systems: nodes, network fabrics and fleets of accelerators."""
