//! Code generation from a validated [`ModelDef`].

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::{FieldDef, ModelDef};
use crate::relation::{RelationKind, ThroughTable};
use duo_orm_schema::{ColumnType, DefaultValue, ReferentialAction};

pub fn model(def: &ModelDef) -> TokenStream {
    let krate = &def.krate;
    let private = quote!(#krate::__private);
    let ident = &def.ident;
    let vis = &def.vis;
    let name = ident.to_string();
    let table = &def.table;
    let columns_ident = format_ident!("{}Columns", ident);

    let handle_fields = def.fields.iter().map(|f| {
        let field = &f.ident;
        let ty = &f.ty;
        let doc = format!("The `{}` column.", f.column);
        quote!(#[doc = #doc] pub #field: #krate::Column<#ident, #ty>)
    });
    let handle_values = def.fields.iter().map(|f| {
        let field = &f.ident;
        let column = &f.column;
        quote!(#field: #krate::Column::new(#column))
    });
    let relation_handle_fields = def.relations.iter().map(|r| {
        let (field, target) = (&r.ident, &r.target);
        let doc = format!("The `{}` relationship ({}).", r.ident, r.kind.keyword());
        quote!(#[doc = #doc] pub #field: #krate::Relation<#ident, #target>)
    });
    let relation_handle_values = def.relations.iter().enumerate().map(|(i, r)| {
        let field = &r.ident;
        quote!(#field: #krate::Relation::new(&RELATIONS[#i]))
    });
    let relations = relations(def, &private);
    let relation_count = def.relations.len();
    let unloaded_fields: Vec<_> = def
        .relations
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let field = &r.ident;
            quote!(#field: #krate::Related::unloaded(&RELATIONS[#i]))
        })
        .collect();

    let column_metas = def.fields.iter().map(|f| column_meta(f, krate, &private));
    let declared_checks = declared_checks(def, &private);
    let primary_key: Vec<usize> = def.primary_key().map(|(i, _)| i).collect();
    let version = match def.fields.iter().position(|f| f.version) {
        Some(index) => quote!(::core::option::Option::Some(#index)),
        None => quote!(::core::option::Option::None),
    };
    let index_metas = def.indexes.iter().map(|index| {
        let columns = &index.columns;
        let unique = index.unique;
        quote!(#private::IndexMeta { columns: &[#(#columns),*], unique: #unique })
    });

    let (key_type, key_value) = key_type_and_value(def);

    let decode_fields = def.fields.iter().map(|f| {
        let field = &f.ident;
        let ty = &f.ty;
        quote_spanned!(ty.span()=> #field: row.next_column::<#ty>()?)
    });
    let value_at_arms = def.fields.iter().enumerate().map(|(i, f)| {
        let field = &f.ident;
        quote!(#i => #private::FieldType::to_value(&self.#field))
    });
    let value_exprs = def.fields.iter().map(|f| {
        let field = &f.ident;
        quote!(#private::FieldType::to_value(&self.#field))
    });
    let into_value_exprs = def.fields.iter().enumerate().map(|(i, f)| {
        let field = &f.ident;
        quote!((#i, #private::FieldType::into_value(self.#field)))
    });
    let json_exprs = def.fields.iter().map(|f| {
        let field = &f.ident;
        quote!(#private::FieldType::to_json(&self.#field))
    });
    let from_map_fields = def.fields.iter().map(|f| from_map_field(f, &name, &private));
    let set_arms = def.fields.iter().enumerate().map(|(i, f)| {
        let field = &f.ident;
        let field_name = f.ident.to_string();
        let ty = &f.ty;
        quote!(#i => self.#field = #private::field_from_json::<#ty>(#name, #field_name, json)?)
    });
    let database = match &def.db {
        Some(db) => quote!(#private::Some(&#db)),
        None => quote!(#private::None),
    };
    let registration = def.db.as_ref().map(|_| {
        quote! {
            #private::inventory::submit! {
                #private::Registration {
                    meta: <#ident as #krate::Model>::meta,
                    database: <#ident as #krate::Model>::database,
                }
            }
        }
    });
    let relation_items = relation_items(def, &private);
    let columns_doc = format!("Typed column handles of [`{name}`], passed to `filter` and `order_by` closures.");

    quote! {
        #[doc = #columns_doc]
        #[derive(Clone, Copy, Debug)]
        #vis struct #columns_ident {
            #(#handle_fields,)*
            #(#relation_handle_fields,)*
        }

        const _: () = {
            static COLUMNS: #columns_ident = #columns_ident { #(#handle_values,)* #(#relation_handle_values,)* };
            static RELATIONS: [#krate::RelationMeta; #relation_count] = [#(#relations,)*];
            static META: #krate::ModelMeta = #krate::ModelMeta {
                name: #name,
                table: #table,
                columns: &[#(#column_metas,)*],
                primary_key: &[#(#primary_key),*],
                version: #version,
                indexes: &[#(#index_metas,)*],
                relations: &RELATIONS,
            };

            #[automatically_derived]
            impl #private::FromRow for #ident {
                const NAME: &'static str = #name;
                #[inline(always)]
                fn from_row(row: &mut #private::RowCursor<'_>) -> #private::RowResult<Self> {
                    <Self as #krate::Model>::decode(row)
                }
            }

            #[automatically_derived]
            impl #krate::Model for #ident {
                type Columns = #columns_ident;
                type Key = #key_type;

                fn meta() -> &'static #krate::ModelMeta {
                    &META
                }

                fn columns() -> &'static #columns_ident {
                    &COLUMNS
                }

                fn database() -> #private::Option<&'static #krate::Database> {
                    #database
                }

                // Inlined into the row loop that calls it, the model is built in place instead
                // of being returned through memory once per row.
                #[inline(always)]
                fn decode(row: &mut #private::RowCursor<'_>) -> #private::RowResult<Self> {
                    #private::Ok(#ident { #(#decode_fields,)* #(#unloaded_fields,)* })
                }

                #[inline]
                fn value_at(&self, index: usize) -> #private::Value {
                    match index {
                        #(#value_at_arms,)*
                        // Out of range: no column, no value.
                        _ => #private::Value::Bool(#private::None),
                    }
                }

                fn values(&self) -> #private::Vec<#private::Value> {
                    ::std::vec![#(#value_exprs,)*]
                }

                fn into_indexed_values(self) -> #private::Vec<(usize, #private::Value)> {
                    ::std::vec![#(#into_value_exprs,)*]
                }

                fn key(&self) -> Self::Key {
                    #key_value
                }

                fn json_values(&self) -> #private::Vec<#private::Json> {
                    ::std::vec![#(#json_exprs,)*]
                }

                fn from_json_map(mut map: #private::JsonMap<::std::string::String, #private::Json>) -> #krate::Result<Self> {
                    #private::Ok(#ident { #(#from_map_fields,)* #(#unloaded_fields,)* })
                }

                fn hooks() -> #private::Option<#private::HookFns<Self>> {
                    use #private::{ViaHooks as _, ViaNoHooks as _};
                    (&&#private::HookProbe::<Self>::default()).duo_hooks()
                }

                fn set_json(&mut self, index: usize, json: #private::Json) -> #krate::Result<()> {
                    match index {
                        #(#set_arms,)*
                        _ => {}
                    }
                    #private::Ok(())
                }
            }

            #[automatically_derived]
            impl #krate::Payload for #ident {
                const TRUSTED: bool = true;

                fn into_map(self) -> #krate::Result<#private::JsonMap<::std::string::String, #private::Json>> {
                    #private::model_payload_map(&self)
                }

                fn into_column_values(
                    self,
                    meta: &'static #krate::ModelMeta,
                ) -> #private::Result<#private::Vec<(usize, #private::Value)>, Self> {
                    #private::model_column_values(self, meta)
                }
            }

            #registration

            #relation_items

            #declared_checks
        };
    }
}

/// For fields of a user's type, the checks the parser makes from the syntax of the others:
/// asserted at compile time against the type's `FieldType::SQL_TYPE`.
fn declared_checks(def: &ModelDef, private: &TokenStream) -> TokenStream {
    let checks = def.fields.iter().filter(|f| f.sql_type.is_none()).flat_map(|f| {
        let ty = &f.ty;
        let sql_type = quote_spanned!(ty.span()=> <#ty as #private::FieldType>::SQL_TYPE);
        let place = format!("{}.{}", def.ident, f.ident);
        let mut checks = Vec::new();
        if f.auto_increment {
            let message = format!("{place}: auto_increment needs a type stored as an integer");
            checks.push(quote_spanned!(ty.span()=> ::core::assert!(#sql_type.is_integer(), #message);));
        }
        if f.max_length.is_some() {
            let message = format!("{place}: max_length applies to types stored as text");
            checks.push(quote_spanned!(ty.span()=> ::core::assert!(#sql_type.is_text(), #message);));
        }
        let fits = match &f.default {
            Some(DefaultValue::Bool(_)) => Some((quote!(#sql_type.is_boolean()), "true or false")),
            Some(DefaultValue::Int(_)) => Some((quote!(#sql_type.is_integer() || #sql_type.is_fractional()), "a number")),
            Some(DefaultValue::Float(_)) => Some((quote!(#sql_type.is_fractional()), "a number with a fraction")),
            Some(DefaultValue::Str(_)) => Some((quote!(#sql_type.holds_strings()), "text")),
            Some(DefaultValue::Sql(_)) | None => None,
        };
        if let Some((fits, what)) = fits {
            let message = format!("{place}: the default is {what}, which this type is not stored as; help: use default_sql");
            checks.push(quote_spanned!(ty.span()=> ::core::assert!(#fits, #message);));
        }
        checks
    });
    // One constant each: evaluation stops at the first failed assertion of a constant.
    quote!(#(const _: () = { #checks };)*)
}

/// The `ColumnMeta` of field `f`: its column's description and the conversions it needs.
fn column_meta(f: &FieldDef, krate: &syn::Path, private: &TokenStream) -> TokenStream {
    let field_name = f.ident.to_string();
    let column = &f.column;
    let sql_type = match &f.sql_type {
        None => {
            let ty = &f.ty;
            quote_spanned!(ty.span()=> <#ty as #private::FieldType>::SQL_TYPE)
        }
        Some(known) => sql_type_tokens(private, known),
    };
    let (nullable, primary_key, auto_increment, unique, index, guarded) =
        (f.nullable, f.primary_key, f.auto_increment, f.unique, f.index, f.guarded);
    let default = match &f.default {
        None => quote!(#private::None),
        Some(d) => {
            let d = match d {
                DefaultValue::Bool(b) => quote!(Bool(#b)),
                DefaultValue::Int(i) => quote!(Int(#i)),
                DefaultValue::Float(x) => quote!(Float(#x)),
                DefaultValue::Str(s) => quote!(Str(#s)),
                DefaultValue::Sql(s) => quote!(Sql(#s)),
            };
            quote!(#private::Some(#private::ColumnDefault::#d))
        }
    };
    let max_length = match f.max_length {
        Some(n) => quote!(#private::Some(#n)),
        None => quote!(#private::None),
    };
    let references = match &f.references {
        None => quote!(#private::None),
        Some(r) => {
            let target = &r.target;
            let action = |a: &Option<ReferentialAction>| match a {
                None => quote!(#private::None),
                Some(a) => {
                    let variant = format_ident!("{}", format!("{a:?}"));
                    quote!(#private::Some(#private::ReferentialAction::#variant))
                }
            };
            let (on_delete, on_update) = (action(&r.on_delete), action(&r.on_update));
            let target_meta = quote_spanned!(target.span()=> <#target as #krate::Model>::meta);
            quote!(#private::Some(#private::ForeignKeyMeta {
                target: #target_meta,
                column: #private::None,
                on_delete: #on_delete,
                on_update: #on_update,
            }))
        }
    };
    let set_on = match (f.set_on.create, f.set_on.update) {
        (false, false) => quote!(#private::SetOn::NEVER),
        (create, update) => quote!(#private::SetOn { create: #create, update: #update }),
    };
    let ty = &f.ty;
    let from_json = quote_spanned!(ty.span()=> <#ty as #private::FieldType>::from_json);
    quote!(#private::ColumnMeta {
        field: #field_name,
        name: #column,
        sql_type: #sql_type,
        nullable: #nullable,
        primary_key: #primary_key,
        auto_increment: #auto_increment,
        unique: #unique,
        index: #index,
        default: #default,
        max_length: #max_length,
        references: #references,
        guarded: #guarded,
        set_on: #set_on,
        from_json: #from_json,
    })
}

/// Field `f` of `from_json_map`: its value from the map, else its default, else an error
/// naming the missing field.
fn from_map_field(f: &FieldDef, name: &str, private: &TokenStream) -> TokenStream {
    let field = &f.ident;
    let field_name = f.ident.to_string();
    let ty = &f.ty;
    let literal_default = match &f.default {
        Some(DefaultValue::Bool(b)) => Some(quote!(#private::Json::from(#b))),
        Some(DefaultValue::Int(i)) => Some(quote!(#private::Json::from(#i))),
        Some(DefaultValue::Float(x)) => Some(quote!(#private::Json::from(#x))),
        Some(DefaultValue::Str(s)) => Some(quote!(#private::Json::from(#s))),
        Some(DefaultValue::Sql(_)) | None => None,
    };
    let absent = if f.nullable {
        quote!(#private::None)
    } else if let Some(json) = literal_default {
        quote!(#private::field_from_json::<#ty>(#name, #field_name, #json)?)
    } else if f.auto_increment || f.guarded || f.set_on.create {
        // Schemas never carry these: the key is generated, a guarded field is set in code,
        // a timestamp is stamped when the row is written.
        quote!(::core::default::Default::default())
    } else {
        quote!(return #private::Err(#private::missing_field(#name, #field_name)))
    };
    quote!(#field: match map.remove(#field_name) {
        #private::Some(json) => #private::field_from_json::<#ty>(#name, #field_name, json)?,
        #private::None => #absent,
    })
}

/// `Model::Key` and the expression that reads it from `self`: the key field's type, or a
/// tuple of the key fields' types for a composite key.
fn key_type_and_value(def: &ModelDef) -> (TokenStream, TokenStream) {
    let key_fields: Vec<_> = def.primary_key().map(|(_, f)| f).collect();
    match key_fields.as_slice() {
        [single] => {
            let (ty, field) = (&single.ty, &single.ident);
            (quote!(#ty), quote!(::core::clone::Clone::clone(&self.#field)))
        }
        many => {
            let tys = many.iter().map(|f| &f.ty);
            let fields = many.iter().map(|f| &f.ident);
            (quote!((#(#tys,)*)), quote!((#(::core::clone::Clone::clone(&self.#fields),)*)))
        }
    }
}

/// The `RelationMeta` of each relationship, in declaration order.
fn relations(def: &ModelDef, private: &TokenStream) -> Vec<TokenStream> {
    let krate = &def.krate;
    let ident = &def.ident;
    let own_key = def.primary_key().next().map(|(_, f)| f.column.clone()).unwrap_or_default();
    def.relations
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let name = r.ident.to_string();
            let target = &r.target;
            let kind = format_ident!("{}", format!("{:?}", r.kind));
            let fk = &r.foreign_key;
            let target_meta = quote_spanned!(target.span()=> <#target as #krate::Model>::meta);
            let (owner_column, target_column) = match r.kind {
                RelationKind::HasMany | RelationKind::HasOne => {
                    (quote!(|| #own_key), quote_spanned!(fk.span()=> || <#target as #krate::Model>::columns().#fk.name()))
                }
                RelationKind::BelongsTo => {
                    let column = def.fields.iter().find(|f| f.ident == *fk).map(|f| f.column.clone()).unwrap_or_default();
                    (quote!(|| #column), quote!(|| #private::key_column(<#target as #krate::Model>::meta())))
                }
                RelationKind::ManyToMany => (quote!(|| #own_key), quote!(|| #private::key_column(<#target as #krate::Model>::meta()))),
            };
            let through = match &r.through {
                None => quote!(#private::None),
                Some(through) => {
                    let (owner_key, target_key) = (&through.owner_key, &through.target_key);
                    let (table, owner, target_col, model) = match &through.table {
                        ThroughTable::Table(table) => {
                            let (o, t) = (owner_key.to_string(), target_key.to_string());
                            (quote!(|| #table), quote!(|| #o), quote!(|| #t), quote!(#private::None))
                        }
                        ThroughTable::Model(model) => (
                            quote_spanned!(model.span()=> || <#model as #krate::Model>::meta().table),
                            quote_spanned!(owner_key.span()=> || <#model as #krate::Model>::columns().#owner_key.name()),
                            quote_spanned!(target_key.span()=> || <#model as #krate::Model>::columns().#target_key.name()),
                            quote_spanned!(model.span()=> #private::Some(<#model as #krate::Model>::meta)),
                        ),
                    };
                    quote!(#private::Some(#private::ThroughMeta {
                        table: #table,
                        owner_column: #owner,
                        target_column: #target_col,
                        model: #model,
                        table_meta: #private::OnceLock::new(),
                    }))
                }
            };
            let cascade = r.cascade;
            let orphans = match r.orphans.as_ref().map(ToString::to_string).as_deref() {
                Some("delete") => quote!(Delete),
                Some("keep") => quote!(Keep),
                _ => quote!(Refuse),
            };
            let marker = format_ident!("__DuoRelation{}", i);
            quote!(#krate::RelationMeta {
                name: #name,
                kind: #krate::RelationKind::#kind,
                owner: <#ident as #krate::Model>::meta,
                target: #target_meta,
                owner_column: #owner_column,
                target_column: #target_column,
                through: #through,
                cascade: #cascade,
                orphans: #krate::Orphans::#orphans,
                loader: &#private::RelationLoader::<#marker>::NEW,
            })
        })
        .collect()
}

/// Per relationship: the loader's marker type, the association helper, and the compile-time
/// checks that foreign keys exist and hold the referenced key's type.
fn relation_items(def: &ModelDef, private: &TokenStream) -> TokenStream {
    let krate = &def.krate;
    let ident = &def.ident;
    let vis = &def.vis;
    let own_key_ty = def.primary_key().next().map(|(_, f)| f.ty.clone());
    let items = def.relations.iter().enumerate().map(|(i, r)| {
        let (field, target, value_ty) = (&r.ident, &r.target, &r.value_ty);
        let marker = format_ident!("__DuoRelation{}", i);
        let kind = format_ident!("{}", format!("{:?}", r.kind));
        let fk = &r.foreign_key;
        let owner_key_ty = match r.kind {
            RelationKind::BelongsTo => {
                let fk_ty = def.fields.iter().find(|f| f.ident == *fk).map(|f| f.ty.clone());
                let fk_ty = fk_ty.map(|t| crate::types::option_inner(&t).cloned().unwrap_or(t));
                quote!(#fk_ty)
            }
            _ => quote!(#own_key_ty),
        };
        let share = if r.kind.shares_rows() {
            quote_spanned!(target.span()=> #private::Some(::core::clone::Clone::clone(row)))
        } else {
            quote!({
                let _ = row;
                #private::None
            })
        };
        let check = match (r.kind, &r.through) {
            (RelationKind::HasMany | RelationKind::HasOne, _) => quote_spanned!(fk.span()=>
                #private::assert_foreign_key::<<#ident as #krate::Model>::Key, _, _>(<#target as #krate::Model>::columns().#fk);
            ),
            (RelationKind::BelongsTo, _) => quote_spanned!(fk.span()=>
                #private::assert_foreign_key::<<#target as #krate::Model>::Key, _, _>(<#ident as #krate::Model>::columns().#fk);
            ),
            (RelationKind::ManyToMany, Some(through)) => match &through.table {
                ThroughTable::Model(model) => {
                    let (owner_key, target_key) = (&through.owner_key, &through.target_key);
                    let owner_check = quote_spanned!(owner_key.span()=>
                        #private::assert_foreign_key::<<#ident as #krate::Model>::Key, _, _>(<#model as #krate::Model>::columns().#owner_key);
                    );
                    let target_check = quote_spanned!(target_key.span()=>
                        #private::assert_foreign_key::<<#target as #krate::Model>::Key, _, _>(<#model as #krate::Model>::columns().#target_key);
                    );
                    quote!(#owner_check #target_check)
                }
                ThroughTable::Table(_) => quote!(),
            },
            (RelationKind::ManyToMany, None) => quote!(),
        };
        let doc = format!(
            "The rows related to this {} through `{}` ({}): load them, or create and link new ones.",
            ident, r.ident, r.kind.keyword()
        );
        quote! {
            #[doc(hidden)]
            #vis struct #marker;

            #[automatically_derived]
            impl #private::RelationField for #marker {
                type Owner = #ident;
                type Target = #target;
                type Value = #value_ty;
                type OwnerKey = #owner_key_ty;

                fn relation() -> &'static #krate::RelationMeta {
                    &RELATIONS[#i]
                }

                fn slot(owner: &mut #ident) -> &mut #krate::Related<#value_ty> {
                    &mut owner.#field
                }

                fn slot_ref(owner: &#ident) -> &#krate::Related<#value_ty> {
                    &owner.#field
                }

                fn share(row: &#target) -> #private::Option<#target> {
                    #share
                }
            }

            #[automatically_derived]
            impl #ident {
                #[doc = #doc]
                #vis fn #field(&self) -> #krate::Association<'_, #ident, #target, #value_ty, #private::kind::#kind> {
                    #krate::Association::new(self, &RELATIONS[#i])
                }
            }

            const _: fn() = || {
                #check
            };
        }
    });
    quote!(#(#items)*)
}

/// `duo_orm::types::SqlType`'s variant, written by its name (the `Debug` of a unit variant).
fn sql_type_tokens(private: &TokenStream, sql_type: &ColumnType) -> TokenStream {
    match sql_type {
        ColumnType::Custom(name) => quote!(#private::SqlType::Custom(#name)),
        ColumnType::Enum(enum_type) => {
            let (name, labels) = (&enum_type.name, &enum_type.labels);
            quote!(#private::SqlType::Enum(#private::EnumType { name: #name, labels: &[#(#labels),*] }))
        }
        ColumnType::Array(element) => {
            let variant = format_ident!("{}", format!("{element:?}"));
            quote!(#private::SqlType::Array(#private::ArrayOf::#variant))
        }
        other => {
            let variant = format_ident!("{}", format!("{other:?}"));
            quote!(#private::SqlType::#variant)
        }
    }
}

/// `#[derive(Payload)]`: a payload that runs `validator::Validate` when the type implements it.
pub fn payload(input: &syn::DeriveInput, krate: &syn::Path) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let private = quote!(#krate::__private);
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::Payload for #ident #ty_generics #where_clause {
            fn validate(&self) -> #krate::Result<()> {
                #[allow(unused_imports)]
                use #private::{ViaNoValidate as _, ViaValidate as _};
                (&&#private::Probe(self)).duo_validate()
            }

            fn into_map(self) -> #krate::Result<#private::JsonMap<::std::string::String, #private::Json>> {
                #private::serialize_to_map(&self)
            }
        }
    }
}
