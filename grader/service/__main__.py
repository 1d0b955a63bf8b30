"""`python -m grader.service`: run the service with settings from the environment / config file."""

from grader.service import load_settings, serve

serve(load_settings())
