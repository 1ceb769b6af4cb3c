"""Interactive visualisers: pure compute in the package, thin ipywidgets layers here."""
