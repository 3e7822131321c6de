"""The fake CT clamp / MID meter on RS-485: register maps as data, a Modbus RTU slave."""
