"""Phone network and air-shower simulator. No Django."""
