//! Link layers: Ethernet (+802.1Q), NULL/LOOP, Linux SLL and SLL2, raw IP.
