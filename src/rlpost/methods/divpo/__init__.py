"""DivPO: diversity criteria, preference-pair selection, pipeline and its stages."""
