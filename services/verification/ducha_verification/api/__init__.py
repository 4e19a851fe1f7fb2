"""HTTP routers of the verification service: thin handlers over the domain and the projection."""
