# What the ISO 15118-20 charger and vehicle share: the EXI codec and the
# message layer.  The grammar tables (schemas/*.exig) are data, not frozen
# here: the codec reads them from the board's file system (/schemas).
package("micro15118/exi", base_path="../../firmware")
package(
    "micro15118", files=["iso20/__init__.py", "iso20/msg.py", "iso20/state_names.py"], base_path="../../firmware"
)
