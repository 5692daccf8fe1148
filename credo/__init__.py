"""CREDO API v2 compatibility: the CREDO detector app uploads to crowdray unchanged."""
