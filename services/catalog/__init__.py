"""The catalog service: products, categories, search and the products' 3D models."""
