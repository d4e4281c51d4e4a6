"""sample-app: add two numbers exactly; the service the reference pipeline ships."""

__version__ = "0.1.0"
