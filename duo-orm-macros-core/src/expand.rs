//! Code generation from a validated [`ModelDef`].

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::{DefaultDef, ModelDef};
use crate::types::SqlType;

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

    let column_metas = def.fields.iter().map(|f| {
        let field_name = f.ident.to_string();
        let column = &f.column;
        let sql_type = sql_type_tokens(&private, &f.sql_type);
        let (nullable, primary_key, auto_increment, unique, index, guarded) =
            (f.nullable, f.primary_key, f.auto_increment, f.unique, f.index, f.guarded);
        let default = match &f.default {
            None => quote!(#private::None),
            Some(d) => {
                let d = match d {
                    DefaultDef::Bool(b) => quote!(Bool(#b)),
                    DefaultDef::Int(i) => quote!(Int(#i)),
                    DefaultDef::Float(x) => quote!(Float(#x)),
                    DefaultDef::Str(s) => quote!(Str(#s)),
                    DefaultDef::Sql(s) => quote!(Sql(#s)),
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
                let action = |a: &Option<String>| match a.as_deref() {
                    None => quote!(#private::None),
                    Some(a) => {
                        let variant = format_ident!("{}", camel_case(a));
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
    });
    let primary_key: Vec<usize> = def.primary_key().map(|(i, _)| i).collect();
    let index_metas = def.indexes.iter().map(|index| {
        let columns = &index.columns;
        let unique = index.unique;
        quote!(#private::IndexMeta { columns: &[#(#columns),*], unique: #unique })
    });

    let key_fields: Vec<_> = def.primary_key().map(|(_, f)| f).collect();
    let (key_type, key_value) = match key_fields.as_slice() {
        [single] => {
            let (ty, field) = (&single.ty, &single.ident);
            (quote!(#ty), quote!(::core::clone::Clone::clone(&self.#field)))
        }
        many => {
            let tys = many.iter().map(|f| &f.ty);
            let fields = many.iter().map(|f| &f.ident);
            (quote!((#(#tys,)*)), quote!((#(::core::clone::Clone::clone(&self.#fields),)*)))
        }
    };

    let decode_fields = def.fields.iter().map(|f| {
        let field = &f.ident;
        let ty = &f.ty;
        quote_spanned!(ty.span()=> #field: row.next::<#ty>()?)
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
    let from_map_fields = def.fields.iter().map(|f| {
        let field = &f.ident;
        let field_name = f.ident.to_string();
        let ty = &f.ty;
        let literal_default = match &f.default {
            Some(DefaultDef::Bool(b)) => Some(quote!(#private::Json::from(#b))),
            Some(DefaultDef::Int(i)) => Some(quote!(#private::Json::from(#i))),
            Some(DefaultDef::Float(x)) => Some(quote!(#private::Json::from(#x))),
            Some(DefaultDef::Str(s)) => Some(quote!(#private::Json::from(#s))),
            Some(DefaultDef::Sql(_)) | None => None,
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
    });
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
    let columns_doc = format!("Typed column handles of [`{name}`], passed to `filter` and `order_by` closures.");

    quote! {
        #[doc = #columns_doc]
        #[derive(Clone, Copy, Debug)]
        #vis struct #columns_ident {
            #(#handle_fields,)*
        }

        const _: () = {
            static COLUMNS: #columns_ident = #columns_ident { #(#handle_values,)* };
            static META: #krate::ModelMeta = #krate::ModelMeta {
                name: #name,
                table: #table,
                columns: &[#(#column_metas,)*],
                primary_key: &[#(#primary_key),*],
                indexes: &[#(#index_metas,)*],
            };

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

                fn decode(row: &mut #private::RowCursor<'_>) -> #krate::Result<Self> {
                    #private::Ok(#ident { #(#decode_fields,)* })
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
                    #private::Ok(#ident { #(#from_map_fields,)* })
                }

                fn hooks() -> #private::Option<#private::HookFns<Self>> {
                    use #private::{ViaHooks as _, ViaNoHooks as _};
                    (&&#private::HookProbe::<Self>::new()).duo_hooks()
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
                    #private::Ok(#krate::ModelExt::to_map(&self))
                }

                fn into_column_values(
                    self,
                    meta: &'static #krate::ModelMeta,
                ) -> #private::Result<#private::Vec<(usize, #private::Value)>, Self> {
                    #private::model_column_values(self, meta)
                }
            }

            #registration
        };
    }
}

fn sql_type_tokens(private: &TokenStream, sql_type: &SqlType) -> TokenStream {
    match sql_type {
        SqlType::Custom(name) => quote!(#private::SqlType::Custom(#name)),
        other => {
            let variant = format_ident!("{}", other.variant());
            quote!(#private::SqlType::#variant)
        }
    }
}

fn camel_case(snake: &str) -> String {
    snake
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect()
}

/// `#[derive(Schema)]`: a payload that runs `validator::Validate` when the type implements it.
pub fn schema(input: &syn::DeriveInput, krate: &syn::Path) -> TokenStream {
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
