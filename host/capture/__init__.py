"""What a session leaves behind, made readable: pcap files (`pcap`), the V2G
messages decoded from a capture (`v2glog`), EXI <-> XML (`exi_xml`)."""
