"""Raw drone photos as imagery: metadata, camera model, ground footprint, reading at model GSD."""
