"""Symphony: the top layer (configuration model and CLI) over chain/, agents/, scheduler/, echo_sync/, marl_detector/."""
