"""Everything that loads weights: name -> weights resolution, device choice, backends."""
