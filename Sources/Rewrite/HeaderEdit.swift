/// A change to a header section, expressed by field name so that it can be applied either
/// to raw bytes (`HeaderBlock.applying`) or through the milter API
/// (`smfi_chgheader` / `smfi_addheader`).
public enum HeaderEdit: Sendable, Equatable {
    /// Remove every field with this name (case-insensitive).
    /// Milter: `smfi_chgheader(name, i, NULL)` for each occurrence, last first.
    case removeAll(name: String)
    /// Give the first field with this name the value `value` (without the leading space);
    /// when no field has the name, append `name: value` at the end of the section.
    /// Milter: `smfi_chgheader(name, 1, value)`, or `smfi_addheader` when absent.
    case set(name: String, value: String)
}
