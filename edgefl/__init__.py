"""edgefl: emulate federated / distributed learning on wireless edge devices."""

__version__ = "0.1.0"
