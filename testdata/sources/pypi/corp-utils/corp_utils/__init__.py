ORIGIN = "private"
