"""The assembled scene for people: USD read into coloured triangle parts, written as a GLB for the
dashboard's 3D viewer and rasterised into a thumbnail PNG for the scenes list."""
